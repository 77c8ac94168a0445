"""The manager's model pages in real Chromium on the real stack: a candidate's evaluation beside production's,
its charts drawn (Chart.js and chartjs-chart-matrix, from static files under the CSP), the gate, and the page
refusing a candidate that fails it. Screenshots are kept as test artifacts (the `screenshots` fixture)."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from playwright.async_api import Browser, Page, expect

from scripts import launcher

from .harness import Stack
from .test_browser import LIVE_TIMEOUT_MS, WIDE, refused_by_csp, signed_in

MANAGER = "e2e-manager"

# A few intents of the bot, as the retrain module's evaluation.json has them (version 1).
LABELS = ["greet", "opening_hours", "lost_or_stolen_card", "report_fraud", "card_delivery"]


def evaluation(accuracy: float, must_reached: int, seed: int) -> dict:
    n = len(LABELS)
    confusion = [[(20 - seed if r == c else (r * c + seed) % 3) for c in range(n)] for r in range(n)]
    return {
        "version": 1,
        "heldout": {
            "total": sum(map(sum, confusion)),
            "accuracy": accuracy,
            "macro_f1": accuracy - 0.04,
            "labels": LABELS,
            "per_intent": {
                label: {"precision": 0.7 + 0.05 * i, "recall": 0.95 - 0.05 * i, "f1": 0.8, "support": 20}
                for i, label in enumerate(LABELS)
            },
            "confusion": confusion,
        },
        "must_escalate": {"total": 12, "reached": must_reached, "recall": must_reached / 12,
                          "missed": ["someone is threatening me"][: 12 - must_reached]},
        "triage": {"total": 40, "reached": 38, "recall": 0.95, "needless": 2, "routine_total": 70},
        "stories": {"total": 9, "passed": 9, "failed": []},
        "predictions": [
            {"text": "my card never came", "expected": "card_delivery",
             "predicted": "card_delivery" if seed else "lost_or_stolen_card", "confidence": 0.8},
        ],
    }


def versions(stack: Stack) -> dict[str, int]:
    """The baseline (in production) evaluated, and two candidates: one passes the gate, one does not."""
    return stack.django(f"""
        from tuning.models import ModelVersion
        from tuning import selectors
        base = selectors.in_production()
        base.evaluation = json.loads({json.dumps(json.dumps(evaluation(0.86, 12, 0)))})
        base.save()
        good = ModelVersion.objects.create(name="model-e2e-good", path=base.path,
                                           evaluation=json.loads({json.dumps(json.dumps(evaluation(0.9, 12, 1)))}))
        bad = ModelVersion.objects.create(name="model-e2e-bad", path=base.path,
                                          evaluation=json.loads({json.dumps(json.dumps(evaluation(0.9, 11, 2)))}))
        print(json.dumps({{"good": good.pk, "bad": bad.pk}}))
    """)


async def painted(page: Page, testid: str) -> int:
    """How many pixels of the canvas are drawn on (not transparent)."""
    canvas = page.get_by_test_id(testid)
    await expect(canvas).to_have_attribute("data-drawn", "true")
    return await canvas.evaluate(
        """(c) => { const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
                    let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }"""
    )


async def test_a_candidates_evaluation_charts_render_and_a_failing_one_cannot_be_deployed(
    stack: Stack, browser: Browser, screenshots: Path
) -> None:
    expect.set_options(timeout=LIVE_TIMEOUT_MS)
    password = secrets.token_urlsafe(12)
    launcher.manage(stack.config, "create_user", f"--username={MANAGER}", f"--password={password}", "--role=manager")
    ids = versions(stack)

    page = await signed_in(browser, f"{stack.http_url}/agents/manager/", MANAGER, password, viewport=WIDE)
    await page.get_by_test_id("nav-models").click()
    for name in ("model-e2e-good", "model-e2e-bad"):
        await expect(page.locator(f'[data-testid="version-row"][data-version="{name}"]')).to_have_count(1)
    await page.screenshot(path=screenshots / "models.png", full_page=True)

    await page.goto(f"{stack.http_url}/agents/manager/models/{ids['good']}/")
    await expect(page.get_by_test_id("figure-accuracy").get_by_test_id("candidate")).to_have_text("90.0%")
    await expect(page.get_by_test_id("figure-accuracy").get_by_test_id("production")).to_have_text("86.0%")
    await expect(page.get_by_test_id("gate")).to_have_attribute("data-passed", "true")
    await expect(page.get_by_test_id("changed-row")).to_have_count(1)
    for chart in ("per-intent-chart", "confusion-chart", "production-confusion-chart"):
        assert await painted(page, chart) > 5000, f"{chart} is blank"
    await page.screenshot(path=screenshots / "model-evaluation.png", full_page=True)

    await page.goto(f"{stack.http_url}/agents/manager/models/{ids['bad']}/")
    await expect(page.get_by_test_id("gate")).to_have_attribute("data-passed", "false")
    await expect(page.get_by_test_id("deploy-form")).to_have_count(0)
    check = page.locator('[data-testid="gate-check"][data-passed="false"]')
    await expect(check).not_to_have_count(0)
    await page.screenshot(path=screenshots / "model-gate-failed.png", full_page=True)

    assert refused_by_csp[page] == []
