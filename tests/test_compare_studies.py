"""experiments/compare_studies: what a user who names the wrong thing is told."""
import pytest

from experiments import compare_studies

RESULTS = "results/synthetic_distance"  # a committed study of four synthetic targets


@pytest.mark.parametrize("spec, says", [
    (RESULTS, "has 4 targets; --per-character compares studies of one target each"),
    (f"{RESULTS}:synthetic-0.5", "corpus synthetic-0.5 is not prepared here"),
    ("no/such/study", "holds no study (no study.json)"),
])
def test_per_character_on_a_study_it_cannot_read_exits_with_one_line(spec, says, tmp_path, monkeypatch):
  monkeypatch.setenv("TRANSFER_SCALING_DATA", str(tmp_path))  # no corpus prepared
  with pytest.raises(SystemExit) as e:
    compare_studies.main(["--workdir", spec, "--workdir", "results/decision_python", "--per-character"])
  message = str(e.value.code)
  assert says in message and message.startswith("error: ") and "\n" not in message


def test_G_is_read_as_the_report_reads_it():
  reps = list(range(1, 1001))  # percentiles 2.5 and 97.5 of 1..1000
  gap = {"identified": {"G": {"status": "determined", "text": ""}}, "params": {"G": 2.0}, "size": "13k",
         "bootstrap": {"G": reps}}
  g = compare_studies.gap_G(gap)
  assert g["status"] == "determined" and g["value"] == 2.0 and g["size"] == "13k"
  assert abs(g["lo"] - 25.975) < 1e-9 and abs(g["hi"] - 975.025) < 1e-9
  assert compare_studies.gap_G(None) == {"status": "no gap fit"}
  gap["identified"]["G"]["status"] = "upper bound only"
  assert compare_studies.gap_G(gap)["status"] == "upper bound only"


def test_a_study_without_a_joint_fit_cannot_be_compared():
  # English -> DNA has no joint fit (no fine-tuned run in the low-data regime): refused before anything is fitted.
  dna = "results/english_to_dna_decision"
  with pytest.raises(SystemExit) as e:
    compare_studies.main(["--workdir", dna, "--workdir", "results/decision_python",
                          "--pairs", "english_to_dna_decision/decision_python"])
  message = str(e.value.code)
  assert message.startswith("error: english_to_dna_decision has no joint fit") and "\n" not in message
  assert not compare_studies.has_joint_fit(dna) and compare_studies.has_joint_fit("results/decision_python")
