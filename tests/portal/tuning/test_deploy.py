"""Deploy, rollback and the baseline: the exact rows each writes, the gate's refusal (service, page and API), and
production's record staying true when the bot cannot swap. The Rasa server is a fake gateway here; the real
swap is tested in tests/e2e/test_model_swap.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from portal_support import evaluation, make_agent

from bot_gateway.client import BotUnavailable, BotUnreachable
from tuning import deploy, selectors
from tuning.deploy import DeployRefused, SwapFailed
from tuning.models import Deployment, GovernanceRecord, ModelVersion

pytestmark = pytest.mark.django_db


class FakeGateway:
    """Records each swap; `fail` makes the next swaps raise it; `runs` is what /status says is loaded."""

    def __init__(self) -> None:
        self.swaps: list[str] = []
        self.fail: BotUnavailable | None = None
        self.runs = ""
        self.loaded_model_fails = False

    def replace_model(self, model_file: str, *, timeout: float) -> None:
        if self.fail:
            raise self.fail
        self.swaps.append(model_file)
        self.runs = Path(model_file).name

    def loaded_model(self) -> str:
        if self.loaded_model_fails:
            raise BotUnavailable("GET /status: timed out")
        return self.runs


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> FakeGateway:
    fake = FakeGateway()
    monkeypatch.setattr(deploy, "get_gateway", lambda: fake)
    return fake


def version(name: str, **scores: Any) -> ModelVersion:
    return ModelVersion.objects.create(name=name, path=f"/models/{name}.tar.gz", evaluation=evaluation(**scores))


@pytest.fixture
def baseline(tmp_path: Path) -> ModelVersion:
    model = tmp_path / "model-base.tar.gz"
    model.write_bytes(b"model")
    registered = deploy.model_register_baseline(path=model)
    registered.evaluation = evaluation()
    registered.save()
    return registered


def history() -> list[tuple[str, str, str | None, str]]:
    return [
        (d.model_version.name, d.action, d.deployed_by.username if d.deployed_by else None, d.reason)
        for d in Deployment.objects.order_by("deployed_at", "id")
    ]


def trail() -> list[tuple[str, str | None, str | None]]:
    return [
        (r.action, r.detail.get("name"), r.detail.get("replaced"))
        for r in GovernanceRecord.objects.order_by("at", "id")
    ]


def test_the_baseline_is_registered_once_and_put_in_production(tmp_path: Path) -> None:
    model = tmp_path / "model-base.tar.gz"
    model.write_bytes(b"model")
    first = deploy.model_register_baseline(path=model)
    assert deploy.model_register_baseline(path=model) == first  # a restart: nothing new
    assert (first.name, first.path, first.training) == ("model-base", str(model.resolve()), None)
    assert history() == [("model-base", "deployed", None, deploy.BASELINE_REASON)]
    assert trail() == [("deployed", "model-base", None)]
    assert selectors.in_production() == first


def test_the_baselines_evaluation_is_kept_and_follows_the_held_out_sets(tmp_path: Path) -> None:
    model = tmp_path / "model-base.tar.gz"
    model.write_bytes(b"model")
    assert deploy.model_register_baseline(path=model).evaluation is None
    assert deploy.model_register_baseline(path=model, evaluation=evaluation()).evaluation == evaluation()
    deploy.model_register_baseline(path=model)  # a restart without one keeps it
    more_sets = evaluation(escalated=(60, 61))
    assert deploy.model_register_baseline(path=model, evaluation=more_sets).evaluation == more_sets
    assert ModelVersion.objects.get().evaluation == more_sets


def test_a_restart_keeps_the_deployed_version_and_a_new_baseline_goes_in(
    baseline: ModelVersion, gateway: FakeGateway, tmp_path: Path
) -> None:
    mia = make_agent("mia", "Mia", role="manager")
    candidate = version("model-cand")
    deploy.model_deploy(model_version=candidate, by=mia, reason="fixes card questions")
    deploy.model_register_baseline(path=Path(baseline.path))
    assert selectors.in_production() == candidate
    changed = tmp_path / "model-changed.tar.gz"  # bot/ was changed and committed: setup trained a new model
    changed.write_bytes(b"model")
    new_baseline = deploy.model_register_baseline(path=changed)
    assert selectors.in_production() == new_baseline
    assert history()[-1] == ("model-changed", "deployed", None, deploy.BASELINE_REASON)


def test_deploy_writes_its_rows_and_swaps_the_bot(baseline: ModelVersion, gateway: FakeGateway) -> None:
    mia = make_agent("mia", "Mia", role="manager")
    candidate = version("model-cand", right=158)
    deployment = deploy.model_deploy(model_version=candidate, by=mia, reason="  fixes card questions ")
    assert gateway.swaps == ["/models/model-cand.tar.gz"]
    assert history()[-1] == ("model-cand", "deployed", "mia", "fixes card questions")
    assert trail()[-1] == ("deployed", "model-cand", "model-base")
    assert GovernanceRecord.objects.latest("id").detail["gate"]["passed"] is True
    assert selectors.in_production() == candidate == deployment.model_version


@pytest.mark.parametrize(
    "scores, failing",
    [
        ({"right": 80}, "heldout_accuracy"),
        ({"escalated": (60, 61)}, "must_escalate_recall"),
        ({"stories_failed": ("a story",)}, "test_stories"),
    ],
)
def test_a_candidate_that_fails_the_gate_is_refused_and_nothing_changes(
    baseline: ModelVersion, gateway: FakeGateway, scores: dict[str, Any], failing: str
) -> None:
    mia = make_agent("mia", "Mia", role="manager")
    before = (history(), trail())
    with pytest.raises(DeployRefused, match=f"did not pass the gate.*{failing}"):
        deploy.model_deploy(model_version=version("model-bad", **scores), by=mia, reason="try it")
    assert (history(), trail(), gateway.swaps) == (*before, [])
    assert selectors.in_production() == baseline


def test_an_unevaluated_version_and_a_deploy_without_reason_are_refused(
    baseline: ModelVersion, gateway: FakeGateway
) -> None:
    mia = make_agent("mia", "Mia", role="manager")
    bare = ModelVersion.objects.create(name="model-bare", path="/models/model-bare.tar.gz")
    with pytest.raises(DeployRefused, match="no evaluation"):
        deploy.model_deploy(model_version=bare, by=mia, reason="why not")
    with pytest.raises(DeployRefused, match="Say why"):
        deploy.model_deploy(model_version=version("model-cand"), by=mia, reason="  ")
    with pytest.raises(DeployRefused, match="in production already"):
        deploy.model_deploy(model_version=baseline, by=mia, reason="again")
    assert (len(history()), gateway.swaps) == (1, [])


def test_rollback_goes_back_through_what_was_deployed(baseline: ModelVersion, gateway: FakeGateway) -> None:
    mia = make_agent("mia", "Mia", role="manager")
    b, c = version("model-b"), version("model-c")
    deploy.model_deploy(model_version=b, by=mia, reason="b")
    deploy.model_deploy(model_version=c, by=mia, reason="c")
    deploy.model_rollback(by=mia)
    assert selectors.in_production() == b
    deploy.model_rollback(by=mia, reason="b is worse too")
    assert selectors.in_production() == baseline  # back to the baseline, not to c again
    assert gateway.swaps == ["/models/model-b.tar.gz", "/models/model-c.tar.gz", "/models/model-b.tar.gz", baseline.path]
    assert history()[-2:] == [
        ("model-b", "rolled_back", "mia", ""),
        ("model-base", "rolled_back", "mia", "b is worse too"),
    ]
    assert trail()[-2:] == [("rolled_back", "model-b", "model-c"), ("rolled_back", "model-base", "model-b")]
    with pytest.raises(DeployRefused, match="Nothing to roll back to"):
        deploy.model_rollback(by=mia)
    assert selectors.production_line() == [baseline]


def test_a_swap_the_bot_refuses_leaves_production_as_it_was(baseline: ModelVersion, gateway: FakeGateway) -> None:
    mia = make_agent("mia", "Mia", role="manager")
    before = (history(), trail())
    gateway.fail = BotUnavailable("PUT /model: HTTP 400")
    with pytest.raises(SwapFailed, match="still runs the model it had"):
        deploy.model_deploy(model_version=version("model-cand"), by=mia, reason="r")
    gateway.fail = BotUnreachable("PUT /model: cannot connect")
    with pytest.raises(SwapFailed):
        deploy.model_deploy(model_version=version("model-other"), by=mia, reason="r")
    assert (history(), trail()) == before
    assert selectors.in_production() == baseline


def test_a_swap_whose_answer_was_lost_is_recorded_if_the_bot_runs_the_model(
    baseline: ModelVersion, gateway: FakeGateway
) -> None:
    mia = make_agent("mia", "Mia", role="manager")
    candidate = version("model-cand")
    gateway.fail, gateway.runs = BotUnavailable("PUT /model: timed out"), "model-cand.tar.gz"
    deploy.model_deploy(model_version=candidate, by=mia, reason="r")
    assert selectors.in_production() == candidate
    gateway.runs, gateway.loaded_model_fails = "", True  # and when the bot cannot say: not recorded
    with pytest.raises(SwapFailed):
        deploy.model_rollback(by=mia)
    assert selectors.in_production() == candidate


# --- the pages and the API ------------------------------------------------------------------------------------


def manager_client() -> Client:
    client = Client()
    client.force_login(make_agent("mia", "Mia", role="manager"))
    return client


def test_a_failing_candidate_gets_409_from_the_page_and_the_api_and_nothing_changes(
    baseline: ModelVersion, gateway: FakeGateway
) -> None:
    client, bad = manager_client(), version("model-bad", escalated=(60, 61))
    page = client.get(f"/agents/manager/models/{bad.pk}/")
    assert page.status_code == 200
    assert b'data-testid="deploy-form"' not in page.content  # no Deploy button on a version that fails the gate
    assert b'data-name="must_escalate_recall" data-passed="false"' in page.content
    before = (history(), trail())

    refused = client.post(f"/agents/manager/models/{bad.pk}/deploy/", {"reason": "ship it"})
    assert refused.status_code == 409
    assert b'data-testid="refused"' in refused.content and b"did not pass the gate" in refused.content
    api = client.post(
        f"/agents/manager/models/{bad.pk}/deploy/", {"reason": "ship it"}, headers={"accept": "application/json"}
    )
    assert api.status_code == 409
    assert "must_escalate_recall" in api.json()["error"]
    assert (history(), trail(), gateway.swaps) == (*before, [])


def test_deploy_and_rollback_from_the_pages(baseline: ModelVersion, gateway: FakeGateway) -> None:
    client, good = manager_client(), version("model-good", right=158)
    page = client.get(f"/agents/manager/models/{good.pk}/")
    assert b'data-testid="deploy-form"' in page.content
    assert b'id="evaluation-data"' in page.content  # the charts' data, for evaluation.js
    assert b'<td data-testid="candidate">98.8%</td><td data-testid="production">97.5%</td>' in page.content

    deployed = client.post(f"/agents/manager/models/{good.pk}/deploy/", {"reason": "better on cards"})
    assert deployed.status_code == 302
    listing = client.get("/agents/manager/models/")
    assert b'data-testid="production-name">model-good<' in listing.content
    assert b"better on cards" in listing.content and b"Roll back to model-base" in listing.content

    rolled = client.post("/agents/manager/models/rollback/", headers={"accept": "application/json"})
    assert rolled.status_code == 200
    assert (rolled.json()["action"], rolled.json()["model_version"]["name"]) == ("rolled_back", "model-base")
    assert gateway.swaps == [good.path, baseline.path]
    again = client.post("/agents/manager/models/rollback/", headers={"accept": "application/json"})
    assert again.status_code == 409


def test_a_bot_that_cannot_swap_is_502_and_production_stays(baseline: ModelVersion, gateway: FakeGateway) -> None:
    client, good = manager_client(), version("model-good")
    gateway.fail = BotUnreachable("PUT /model: cannot connect")
    response = client.post(f"/agents/manager/models/{good.pk}/deploy/", {"reason": "r"})
    assert response.status_code == 502 and b"still runs the model it had" in response.content
    assert selectors.in_production() == baseline


def test_the_model_pages_are_managers_only(baseline: ModelVersion, gateway: FakeGateway) -> None:
    good = version("model-good")
    client = Client()
    client.force_login(make_agent("ann", "Ann"))
    for path in ("/agents/manager/models/", f"/agents/manager/models/{good.pk}/"):
        assert client.get(path).status_code == 403
    for path in (f"/agents/manager/models/{good.pk}/deploy/", "/agents/manager/models/rollback/"):
        assert client.post(path, {"reason": "r"}).status_code == 403
    assert (len(history()), gateway.swaps) == (1, [])


def test_a_bot_restarted_on_another_model_gets_production_back(baseline: ModelVersion, gateway: FakeGateway) -> None:
    from tuning.tasks import keep_production_model_loaded

    mia = make_agent("mia", "Mia", role="manager")
    candidate = version("model-cand")
    deploy.model_deploy(model_version=candidate, by=mia, reason="r")
    assert keep_production_model_loaded() is False  # it runs what production says: nothing to do
    gateway.runs = "model-base.tar.gz"  # crashed, and the supervisor started it again on its start-up model
    assert keep_production_model_loaded() is True
    assert (gateway.swaps, gateway.runs) == ([candidate.path, candidate.path], "model-cand.tar.gz")
    gateway.loaded_model_fails = True  # down or loading: asked again next time
    assert keep_production_model_loaded() is False
    assert len(history()) == 2  # it changes the bot, never the record


@pytest.mark.django_db(transaction=True)
def test_two_deploys_at_once_happen_one_after_the_other(baseline: ModelVersion, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    import time

    from django.db import close_old_connections, connection

    class SlowGateway(FakeGateway):
        def __init__(self) -> None:
            super().__init__()
            self.loading, self.most_loading = 0, 0

        def replace_model(self, model_file: str, *, timeout: float) -> None:
            self.loading += 1
            self.most_loading = max(self.most_loading, self.loading)
            time.sleep(0.3)  # a model loading
            self.loading -= 1
            super().replace_model(model_file, timeout=timeout)

    slow = SlowGateway()
    monkeypatch.setattr(deploy, "get_gateway", lambda: slow)
    mia = make_agent("mia", "Mia", role="manager")
    candidates = [version("model-one"), version("model-two")]
    failures: list[BaseException] = []

    def deploying(candidate: ModelVersion) -> None:
        try:
            deploy.model_deploy(model_version=candidate, by=mia, reason="at once")
        except BaseException as exc:  # noqa: BLE001 -- reported by the assertion below
            failures.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=deploying, args=(c,)) for c in candidates]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert slow.most_loading == 1  # the bot is never asked to load two models at once
    line = selectors.production_line()
    assert [v.name for v in line[1:]] == [Path(swap).name.removesuffix(".tar.gz") for swap in slow.swaps]
    assert selectors.in_production() == line[-1]  # the record and the bot agree on who came last
    if connection.vendor == "postgresql":  # production's rows locked: the second saw the first in production
        assert trail()[-1][2] == line[-2].name
