"""The seed-recipe study: each recipe's command (resumed where a run stopped, the leaky CK+ split only on
request) and the one-line verdicts of its RESULTS section."""

from __future__ import annotations

from pathlib import Path

from studies.seed_full import SEEDS, Row, Seed, verdict


def _row(seed: Seed, figure: float, late: bool = False) -> Row:
    return Row(seed, "20 of 20", figure, "", "split", 0.1, 1, "20", late)


def test_commands_resume_a_stopped_run_and_ask_for_the_leaky_split_by_name(tmp_path: Path):
    by_name = {s.name: s for s in SEEDS}
    train = by_name["seed_cnn4c2f"].command(tmp_path / "run", tmp_path, 1)
    assert "--exist-ok" in train and "train.threads=1" in train
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "last_state.safetensors").write_bytes(b"")
    assert "--resume" in by_name["seed_cnn4c2f"].command(tmp_path / "run", tmp_path, 0)
    random = by_name["seed_keras_cnn_ck48_random"].command(tmp_path / "cv", tmp_path, 0)
    subject = by_name["seed_keras_cnn_ck48_subject"].command(tmp_path / "cv", tmp_path, 0)
    assert "--allow-subject-leak" in random and "none" in random
    assert "--allow-subject-leak" not in subject and "subject" in subject
    assert {s.name for s in SEEDS} >= {"seed_cnn4c2f", "seed_cnn_wd", "seed_cnn4c3f_28", "seed_dcnn_ck48"}


def test_verdicts_say_whether_a_claim_holds_and_what_a_random_split_adds():
    by_name = {s.name: s for s in SEEDS}
    dcnn = by_name["seed_dcnn_ck48"]
    assert "holds" in verdict(_row(dcnn, 88.0), {}) and "does not hold" not in verdict(_row(dcnn, 88.0), {})
    assert "does not hold" in verdict(_row(dcnn, 60.0), {})
    subject = _row(by_name["seed_keras_cnn_ck48_subject"], 80.0)
    random = _row(by_name["seed_keras_cnn_ck48_random"], 95.5)
    assert "+15.5 points" in verdict(random, {subject.seed.name: subject})
    assert "Still improving" in verdict(_row(by_name["seed_cnn4c2f"], 60.0, late=True), {})


def test_a_recorded_row_is_kept_while_its_run_folder_is_absent(tmp_path: Path, monkeypatch):
    import benchmarks.record as rec
    from studies import seed_full

    results = tmp_path / "RESULTS.md"
    results.write_text(
        "# Results\n\n## Seed reproductions, full recipes\n_date_\n\n| seed model | epochs |\n|---|---|\n"
        "| `seed_cnn4c3f_28` | 60 of 60 (best 57) | **60.04 %** |\n| `not_a_seed` | 1 of 1 |\n\n"
        "## Next section\n| `seed_cnn_wd` | elsewhere |\n"
    )
    monkeypatch.setattr(rec, "RESULTS", results)
    kept = seed_full._recorded_rows()
    assert list(kept) == ["seed_cnn4c3f_28"] and "60.04" in kept["seed_cnn4c3f_28"]
    results.write_text("# Results\n")
    assert seed_full._recorded_rows() == {}
