"""The scheduled workflow keeps least privilege: what actionlint and zizmor check, in brief."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

WORKFLOW = Path(__file__).resolve().parents[1] / ".github" / "workflows" / "site.yml"


def jobs() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())["jobs"]


def test_no_default_permissions_and_only_the_issues_job_writes_issues():
    assert yaml.safe_load(WORKFLOW.read_text())["permissions"] == {}
    writers = {name for name, job in jobs().items() if (job.get("permissions") or {}).get("issues") == "write"}
    assert writers == {"review-issues"}
    assert jobs()["review-issues"]["permissions"] == {"issues": "write"}


def test_every_action_is_pinned_by_sha_and_no_expression_runs_in_a_shell():
    for name, job in jobs().items():
        for step in job.get("steps", []):
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), (name, step["uses"])
                if step["uses"].startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False
            assert "${{" not in step.get("run", ""), (name, step.get("name"))


def test_the_issues_job_reads_what_the_renderer_writes():
    """It matches an open issue by the "(claim_id)" the renderer puts in every title."""
    from build_data.prose.review import Review, issues

    title = issues([Review("bear-case.md", "S", "overbought", "Momentum is stretched", None)])[0]["title"]
    assert "(overbought)" in title
    run = "\n".join(s.get("run", "") for s in jobs()["review-issues"]["steps"])
    assert 'tag="($(jq -r .claim' in run and "contains($tag)" in run
    # Matched by the job's own label and the bot's authorship, never by a title anyone could write.
    assert '--label claim-review --author "app/github-actions"' in run
    assert "gh issue create --title \"$title\" --body-file body.md --label claim-review" in run
    build_runs = "\n".join(s.get("run", "") for s in jobs()["build"]["steps"])
    assert "-m build_data review --site \"$SITE\" > review-issues.json" in build_runs


def test_the_schedule_is_kept_alive_by_a_job_that_may_only_enable_workflows():
    job = jobs()["keep-schedule"]
    assert job["permissions"] == {"actions": "write"} and job["if"] == "github.event_name == 'schedule'"
    run = "\n".join(s.get("run", "") for s in job["steps"])
    assert 'gh api --method PUT "repos/$GH_REPO/actions/workflows/site.yml/enable"' in run
    assert WORKFLOW.name in run
    actions_writers = {n for n, j in jobs().items() if (j.get("permissions") or {}).get("actions") == "write"}
    assert actions_writers == {"keep-schedule"}
