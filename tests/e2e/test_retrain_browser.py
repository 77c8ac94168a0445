"""Retrain in real Chromium on the real stack: a manager presses Retrain, the progress bar moves over the manager
socket while the Celery worker trains a candidate with the real Rasa in the bot's Python, a second press says
"one training at a time", and the finished candidate is listed with its gate. Screenshots are kept as test
artifacts (the `screenshots` fixture)."""

from __future__ import annotations

import secrets
from pathlib import Path

from playwright.async_api import Browser, expect

from scripts import launcher

from .harness import Stack
from .test_browser import LIVE_TIMEOUT_MS, WIDE, refused_by_csp, signed_in

MANAGER = "e2e-retrainer"
# A training (data check, Rasa, evaluation) takes about 80 s on a quiet 2-core machine; a loaded one, longer.
TRAINING_TIMEOUT_MS = 600_000


async def test_retrain_shows_live_progress_and_lists_the_candidate(
    stack: Stack, browser: Browser, screenshots: Path
) -> None:
    expect.set_options(timeout=LIVE_TIMEOUT_MS)
    password = secrets.token_urlsafe(12)
    launcher.manage(stack.config, "create_user", f"--username={MANAGER}", f"--password={password}", "--role=manager")
    stack.django(f"""
        from django.contrib.auth.models import User
        from tuning.models import TrainingExample
        manager = User.objects.get(username={MANAGER!r})
        TrainingExample.objects.create(text="are you lot open on boxing day", intent="opening_hours",
                                       approved_by=manager)
        print(json.dumps(True))
    """)

    page = await signed_in(browser, f"{stack.http_url}/agents/manager/", MANAGER, password, viewport=WIDE)
    await page.get_by_test_id("home-training").click()
    await page.get_by_test_id("retrain").click()
    await expect(page.get_by_test_id("notice")).to_contain_text("is queued")

    # Live: the bar fills from the socket's frames, with no reload of the page.
    progress = page.get_by_test_id("training-progress")
    await page.wait_for_function(
        "() => document.querySelector('[data-testid=training-progress]').value >= 0.05",
        timeout=TRAINING_TIMEOUT_MS,
    )
    await expect(page.get_by_test_id("training-status")).to_have_text("Running")
    await page.screenshot(path=screenshots / "retrain-progress.png", full_page=True)

    await page.get_by_test_id("retrain").click()  # a second press while it runs
    await expect(page.get_by_test_id("notice")).to_contain_text("One training at a time")
    await page.wait_for_function(
        "() => document.querySelector('[data-testid=training-progress]').value >= 0.3",
        timeout=TRAINING_TIMEOUT_MS,
    )
    await expect(page.get_by_test_id("training-stage")).to_have_text(
        "Evaluating it on the held-out sets and test stories"
    )

    # Finished: the page reloads itself and lists the candidate with its gate.
    row = page.get_by_test_id("training-row").first
    await expect(row).to_contain_text("Succeeded", timeout=TRAINING_TIMEOUT_MS)
    await expect(progress).to_have_js_property("value", 1)
    await expect(row.get_by_test_id("candidate")).to_contain_text("candidate-")
    await expect(row.get_by_test_id("gate")).to_have_count(1)
    await page.screenshot(path=screenshots / "retrain-finished.png", full_page=True)

    assert refused_by_csp[page] == []
