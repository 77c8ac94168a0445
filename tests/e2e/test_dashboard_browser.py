"""The managers' dashboard in real Chromium on the real stack, over a generated history (manage.py
generate_traffic_history, then check_drift): its figures as the selectors compute them, every chart drawn
(Chart.js from static files, under the CSP), the drift alerts of the injected days, a table's CSV, and the
threshold replay's curve. Screenshots
are kept as test artifacts (the `screenshots` fixture)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone
from pathlib import Path

from playwright.async_api import Browser, Page, expect

from scripts import launcher

from .harness import Stack
from .test_browser import LIVE_TIMEOUT_MS, WIDE, refused_by_csp, signed_in

MANAGER = "e2e-oversight-manager"
DAYS = 70
# Well before today: the history's handoffs are all closed (no synthetic customer waits in the agents' queue) and
# its fallbacks are older than new-intent discovery's window.
END = datetime.now(timezone.utc).date() - timedelta(days=40)
FIRST = END - timedelta(days=DAYS)
DRIFT_DAYS = (40, 46, 52, 58)  # intent surge, confidence drop, bot outage, unknown topic
OUTAGE = FIRST + timedelta(days=52)


def history(stack: Stack) -> dict[str, object]:
    launcher.manage(
        stack.config, "generate_traffic_history", f"--days={DAYS}", "--per-day=150", f"--end={END}",
        f"--drift-days={','.join(map(str, DRIFT_DAYS))}", "--allow-real-data",
    )
    launcher.manage(stack.config, "check_drift", f"--from={FIRST + timedelta(days=28)}", f"--to={END - timedelta(days=1)}", "--no-mail")
    return stack.django(f"""
        from datetime import date
        from oversight import selectors
        from oversight.selectors import Period
        board = selectors.dashboard(Period.days(date.fromisoformat("{FIRST}"), {DAYS}))
        print(json.dumps({{
            "conversations": board.containment.conversations,
            "containment": f"{{board.containment.rate:.1%}}",
            "alert_days": sorted({{str(c.day) for c in board.drift_alerts}}),
            "top_intent": board.intents[0].intent,
            "labelled": selectors.threshold_replay(board.period).labelled,
        }}))
    """)


async def drawn_pixels(page: Page, chart: str) -> int:
    canvas = page.locator(f'canvas[data-chart="{chart}"]')
    await expect(canvas).to_have_attribute("data-rendered", "true")
    return await canvas.evaluate(
        """(c) => { const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
                    let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }"""
    )


async def test_the_dashboard_on_a_generated_history(stack: Stack, browser: Browser, screenshots: Path) -> None:
    expect.set_options(timeout=LIVE_TIMEOUT_MS)
    password = secrets.token_urlsafe(12)
    launcher.manage(stack.config, "create_user", f"--username={MANAGER}", f"--password={password}", "--role=manager")
    expected = history(stack)
    assert OUTAGE.isoformat() in expected["alert_days"]

    page = await signed_in(browser, f"{stack.http_url}/agents/manager/", MANAGER, password, viewport=WIDE)
    await page.get_by_test_id("home-oversight").click()
    await expect(page.get_by_test_id("oversight-dashboard")).to_be_visible()

    # The whole history, as a manager asks for it on the page.
    await page.get_by_label("Range").select_option("custom")
    await page.get_by_label("From").fill(FIRST.isoformat())
    await page.get_by_label("To (inclusive)").fill((END - timedelta(days=1)).isoformat())
    await page.get_by_test_id("oversight-apply").click()
    await expect(page.get_by_test_id("kpi-conversations")).to_have_text(str(expected["conversations"]))
    await expect(page.get_by_test_id("kpi-containment")).to_have_text(str(expected["containment"]))
    charts = await page.locator("canvas[data-chart]").evaluate_all("(cs) => cs.map((c) => c.dataset.chart)")
    assert len(charts) == 10, charts  # days, reasons, human side, queue, five drift measures, intents
    for chart in charts:
        assert await drawn_pixels(page, chart) > 1000, chart
    alerts = page.get_by_test_id("drift-alerts")
    await expect(alerts).to_contain_text(f"{OUTAGE:%a %-d %b}: Handoff rate")
    await expect(page.get_by_test_id("table-intents").locator("tbody tr").first).to_contain_text(str(expected["top_intent"]))
    await page.screenshot(path=screenshots / "oversight-history.png", full_page=True)

    # The outage day alone, and one of its tables as CSV.
    await page.goto(f"{stack.http_url}/agents/manager/oversight/?range=day&day={OUTAGE}")
    await expect(page.get_by_test_id("table-reasons")).to_contain_text("Bot unavailable")
    for chart in ("reasons", "queue", "drift:handoff_rate"):
        assert await drawn_pixels(page, chart) > 1000, chart
    await page.screenshot(path=screenshots / "oversight-outage-day.png", full_page=True)
    href = await page.get_by_test_id("export-reasons").get_attribute("href")
    response = await page.request.get(f"{stack.http_url}{href}")
    assert response.ok and response.headers["content-type"] == "text/csv; charset=utf-8"
    assert (await response.text()).splitlines()[0] == "Reason,Code,Conversations,Of all conversations"

    # The threshold replay over the whole history: its curve drawn, today's threshold marked.
    await page.goto(
        f"{stack.http_url}/agents/manager/oversight/replay/?range=custom&start={FIRST}&end={END - timedelta(days=1)}"
    )
    await expect(page.get_by_test_id("replay-labelled")).to_have_text(str(expected["labelled"]))
    await expect(page.get_by_test_id("replay-today")).to_contain_text("(today)")
    assert await drawn_pixels(page, "replay") > 1000
    await page.screenshot(path=screenshots / "oversight-replay.png", full_page=True)

    assert refused_by_csp[page] == []
