"""The README's links inside itself and the files it names exist."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
PROSE = re.sub(r"^```.*?^```", "", README, flags=re.M | re.S)   # no code blocks


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces -> '-'."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_github_anchor_follows_githubs_rule():
    assert github_anchor("The GPU script's settings") == "the-gpu-scripts-settings"
    assert github_anchor("What fixed binding: a caption encoder that parses") == \
        "what-fixed-binding-a-caption-encoder-that-parses"


def test_every_link_to_a_section_finds_its_heading():
    anchors = {github_anchor(h) for h in re.findall(r"^#{1,6} (.+)$", PROSE, re.M)}
    links = re.findall(r"\]\(#([^)]+)\)", README)
    assert links, "the README links to none of its sections"
    assert not [link for link in links if link not in anchors], \
        f"links to no heading: {sorted(set(links) - anchors)}; headings: {sorted(anchors)}"


def anchors_of(text: str) -> set[str]:
    prose = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    return {github_anchor(h) for h in re.findall(r"^#{1,6} (.+)$", prose, re.M)}


def test_the_experiment_log_and_the_readme_link_each_other_right():
    """benchmarks/results/README.md (the GPU model's experiments) links to its own
    sections and to the README's; the README links to its sections."""
    log = (ROOT / "benchmarks" / "results" / "README.md").read_text(encoding="utf-8")
    documents = {"": anchors_of(log), "../../README.md": anchors_of(README)}
    links = re.findall(r"\]\((\.\./\.\./README\.md)?#([^)]+)\)", log)
    assert len(links) > 8
    assert not [f"{doc}#{a}" for doc, a in links if a not in documents[doc]]
    into_log = re.findall(r"\]\(benchmarks/results/README\.md#([^)]+)\)", README)
    assert into_log and not [a for a in into_log if a not in documents[""]]


def test_every_file_the_readme_names_exists():
    named = set(re.findall(r"`((?:benchmarks|t2v_edu|tests|solutions|notebooks|\.ci)/"
                           r"[\w./\-]+)`", README))
    assert len(named) > 20
    missing = sorted(p for p in named if "NN" not in p and not (ROOT / p).exists())
    assert not missing, f"the README names files that do not exist: {missing}"
