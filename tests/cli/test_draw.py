"""`ptnas-draw` end to end: a picture from text, file or search run dir; one-line errors; and the
picture a search leaves in its run dir and in TensorBoard."""
from __future__ import annotations

import json

import pytest
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from ptnas import spaces
from ptnas.cli import draw, search

NB201 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
SEARCH = ["--space", "nb201", "--init-channels", "4", "--layers", "1", "--proposals", "1", "--valid-batches", "1",
          "--batch-size", "8", "--order", "fixed"]


def run(argv: list[str]) -> int:
    try:
        return draw.main([str(a) for a in argv])
    except SystemExit as e:
        return int(e.code or 0)


def test_genotype_text_becomes_a_png(tmp_path, capsys):
    out = tmp_path / "pictures" / "cell.png"  # a missing folder is made
    assert run([NB201, "--out", out]) == 0
    with Image.open(out) as image:
        assert image.format == "PNG" and image.width > 300 and image.height > 100
    assert f"nb201 genotype drawn to {out}" in capsys.readouterr().out


@pytest.mark.parametrize("suffix,magic", [(".svg", b"<?xml"), (".pdf", b"%PDF"), (".PNG", b"\x89PNG")])
def test_the_suffix_picks_the_format(tmp_path, suffix, magic):
    genotype = tmp_path / "genotype.txt"
    genotype.write_text("22212220\n")
    assert run([genotype, "--out", tmp_path / f"m{suffix}", "--space", "macro"]) == 0
    assert (tmp_path / f"m{suffix}").read_bytes().startswith(magic)


@pytest.mark.parametrize("argv,message", [
    (["not-a-genotype", "--out", "{tmp}/x.png"], "not a genotype of any registered space"),
    (["|nor_conv_3x3~0|+|bogus~0|none~1|+|none~0|none~1|none~2|", "--out", "{tmp}/x.png", "--space", "nb201"],
     "not a valid nb201 genotype"),
    ([NB201, "--out", "{tmp}/x.png", "--space", "cells"], "unknown space 'cells'"),
    ([NB201, "--out", "{tmp}/x.gif"], "unsupported suffix '.gif'"),
    ([NB201, "--out", "{tmp}/x"], "unsupported suffix '(none)'"),
    ([NB201, "--out", "{tmp}/file.txt/x.png"], "is not a directory"),
    ([NB201, "--out", "{tmp}/folder.png"], "cannot write"),
    ([NB201], "required: --out"),
    (["{tmp}", "--out", "{tmp}/x.png"], "has no genotype.json"),
    (["", "--out", "{tmp}/x.png"], "GENOTYPE is empty"),  # not the path "."
    (["  ", "--out", "{tmp}/x.png"], "GENOTYPE is empty"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, argv, message):
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "folder.png").mkdir()
    assert run([a.replace("{tmp}", str(tmp_path)) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ptnas-draw: error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert message in err
    assert not (tmp_path / "x.png").exists()


def test_a_search_run_dir_has_the_picture_in_files_and_tensorboard_and_draws_again(tmp_path):
    out = tmp_path / "search"
    assert search.main([*SEARCH, "--out", str(out)]) == 0
    assert (out / "genotype.png").is_file() and (out / "genotype.svg").read_text().startswith("<?xml")
    genotype = json.loads((out / "genotype.json").read_text())["genotype"]
    ops = spaces.get("nb201").parse(genotype).ops
    assert (out / "genotype.svg").read_text().count('id="edge:') == sum(op != "none" for op in ops)
    events = EventAccumulator(str(out / "events"), size_guidance={"images": 0})
    events.Reload()
    [picture] = events.Images("genotype/picture")
    assert picture.width > 300 and picture.encoded_image_string.startswith(b"\x89PNG")
    assert "genotype/text_summary" in events.Tags()["tensors"]  # next to the genotype text

    assert run([out, "--out", tmp_path / "again.png"]) == 0  # the space comes from genotype.json
    assert (tmp_path / "again.png").read_bytes() == (out / "genotype.png").read_bytes()
