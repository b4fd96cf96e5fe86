"""Genotype pictures: every space draws its references and odd genotypes with one labelled edge or box
per op (read back from the figure's artists by gid, not from pixels), labels that do not overlap, and
run-dir files written atomically with ordinary permissions."""
from __future__ import annotations

import os
import warnings
from collections import Counter

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch
from PIL import Image

from ptnas import drawing, spaces
from ptnas.spaces.base import SearchSpace

NB201_WITH_NONE = "|none~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|"


def with_gid(fig: Figure, prefix: str) -> list:
    return fig.findobj(lambda a: (a.get_gid() or "").startswith(prefix))


def edge_labels(fig: Figure, cell: str = "") -> list[str]:
    return [t.get_text() for t in with_gid(fig, f"edge:{cell}")]


def label_boxes(fig: Figure) -> list:
    renderer = fig.canvas.get_renderer()
    return [t.get_window_extent(renderer) for t in with_gid(fig, "edge:")]


def assert_no_overlap(fig: Figure) -> None:
    boxes = label_boxes(fig)
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b), (a, b)


def test_nb201_best_cell_has_one_labelled_edge_per_op_and_no_overlapping_labels():
    space = spaces.get("nb201")
    genotype = space.references()["nb201_best_cifar10"]
    fig = space.draw(genotype)
    assert isinstance(fig, Figure) and fig.canvas.manager is None  # not a pyplot figure
    assert Counter(edge_labels(fig)) == Counter(genotype.ops)
    assert len(with_gid(fig, "node:")) == 4
    assert_no_overlap(fig)


def test_nb201_none_edges_are_left_out():
    fig = spaces.get("nb201").draw(NB201_WITH_NONE)
    assert sorted(edge_labels(fig)) == ["avg_pool_3x3", "nor_conv_3x3", "nor_conv_3x3", "skip_connect"]
    assert {t.get_gid() for t in with_gid(fig, "edge:")} == {"edge:cell:0->2", "edge:cell:0->3", "edge:cell:1->3",
                                                            "edge:cell:2->3"}
    assert len(with_gid(fig, "node:")) == 4  # a node without inputs is still drawn


def test_genotype_text_and_object_give_the_same_picture():
    space = spaces.get("nb201")
    genotype = space.parse(NB201_WITH_NONE)
    a, b = space.draw(genotype), space.draw(NB201_WITH_NONE)
    assert [(t.get_gid(), t.get_position()) for t in with_gid(a, "edge:")] == \
           [(t.get_gid(), t.get_position()) for t in with_gid(b, "edge:")]


@pytest.mark.parametrize("name", sorted(spaces.get("darts").references()))
def test_darts_references_draw_both_cells_with_eight_labelled_and_four_concat_edges_each(name):
    space = spaces.get("darts")
    genotype = space.references()[name]
    fig = space.draw(genotype)
    for cell in ("normal", "reduce"):
        assert Counter(edge_labels(fig, cell + ":")) == Counter(op for op, _ in getattr(genotype, cell))
        assert len(with_gid(fig, f"concat:{cell}:")) == 4
        assert len(with_gid(fig, f"node:{cell}:")) == 2 + 4 + 1  # c_{k-2}, c_{k-1}, 0..3, c_{k}
    assert len(edge_labels(fig)) == 16
    assert_no_overlap(fig)


def test_darts_edges_join_the_nodes_the_genotype_names():
    genotype = spaces.get("darts").references()["darts_v2"]
    fig = spaces.get("darts").draw(genotype)
    gids = {t.get_gid() for t in with_gid(fig, "edge:normal:")}
    assert gids == {"edge:normal:c_{k-2}->0", "edge:normal:c_{k-1}->0", "edge:normal:c_{k-2}->1",
                    "edge:normal:c_{k-1}->1", "edge:normal:c_{k-2}->2", "edge:normal:c_{k-1}->2",
                    "edge:normal:c_{k-2}->3", "edge:normal:0->3"}
    assert {a.get_gid() for a in with_gid(fig, "concat:reduce:")} == {f"concat:reduce:{k}->c_{{k}}" for k in range(4)}


def test_darts_input_used_twice_by_one_node_gives_two_distinct_edges():
    text = ("Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 2)], "
            "normal_concat=[2, 3], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), "
            "('avg_pool_3x3', 0)], reduce_concat=[2, 3])")
    fig = spaces.get("darts").draw(text)
    assert Counter(edge_labels(fig, "normal:")) == Counter({"sep_conv_3x3": 3, "skip_connect": 1})
    assert len(with_gid(fig, "concat:normal:")) == 2
    arrows = [a.get_connectionstyle().rad for a in with_gid(fig, "arrow:normal:c_{k-2}->0")]
    assert len(arrows) == 2 and arrows[0] != arrows[1]  # they bow apart
    assert_no_overlap(fig)


def blocks(fig: Figure) -> list[FancyBboxPatch]:
    return sorted(with_gid(fig, "block:"), key=lambda p: int(p.get_gid().split(":")[1]))


@pytest.mark.parametrize("name", sorted(spaces.get("mobilenet").references()))
def test_mobilenet_references_draw_one_box_per_block(name):
    space = spaces.get("mobilenet")
    genotype = space.references()[name]
    fig = space.draw(genotype)
    boxes = blocks(fig)
    assert len(boxes) == len(genotype.blocks) == 21
    assert [b.get_linestyle() != "-" for b in boxes] == [op == "zero" for op in genotype.blocks]  # dashed = skipped
    assert [t.get_text() for t in with_gid(fig, "stage:")][2:-1] == [
        f"{w} ch\nstride {s}" for w, s in zip(genotype.widths[2:-1], (2, 2, 2, 1, 2, 1))]
    xs = [b.get_x() for b in boxes]
    assert xs == sorted(xs)  # a chain, left to right


def test_mobilenet_smaller_genotype_without_widths_draws_search_space_widths():
    genotype = ",".join(["mb_k3_e3"] * 6)  # layers=1: one block per stage
    fig = spaces.get("mobilenet").draw(genotype)
    assert len(blocks(fig)) == 6
    assert [t.get_text() for t in with_gid(fig, "stage:")][2] == "24 ch\nstride 2"


def test_macro_best_has_eight_boxes_and_identities_are_drawn_as_such():
    space = spaces.get("macro")
    fig = space.draw(space.references()["macro_best"])
    assert len(blocks(fig)) == 8
    fig = space.draw("20010120")  # identities at layers 1, 4, 7 (stride 1) and 2 (stride 2, the first of stage 2)
    boxes = blocks(fig)
    assert len(boxes) == 8
    assert [k for k, b in enumerate(boxes) if b.get_linestyle() != "-"] == [1, 4, 7]  # a reducing identity is a conv
    assert [t.get_text() for t in with_gid(fig, "stage:")] == ["32 ch", "64 ch\nstride 2", "128 ch\nstride 2",
                                                              "256 ch\nstride 2", "1280 ch"]


def test_a_space_without_draw_says_so():
    class Bare(SearchSpace):
        name = "bare"

    with pytest.raises(NotImplementedError, match="bare space cannot draw"):
        Bare().draw("x")


class Recorder:
    def __init__(self):
        self.images = []

    def add_image(self, tag, image, step, dataformats):
        self.images.append((tag, image, step, dataformats))

    def flush(self):
        pass


def test_save_genotype_picture_writes_png_svg_and_the_tensorboard_image(tmp_path):
    old = os.umask(0o027)
    try:
        writer = Recorder()
        paths = drawing.save_genotype_picture(spaces.get("nb201"), NB201_WITH_NONE, tmp_path, writer)
    finally:
        os.umask(old)
    assert paths == [tmp_path / "genotype.png", tmp_path / "genotype.svg"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["genotype.png", "genotype.svg"]  # no temporary files left
    for p in paths:
        assert p.stat().st_mode & 0o777 == 0o640  # 0o666 less the umask, not mkstemp's 0o600
    with Image.open(paths[0]) as image:
        assert image.format == "PNG" and image.width > 300
    svg = paths[1].read_text()
    assert svg.startswith("<?xml") and 'id="edge:cell:0-&gt;2"' in svg and "avg_pool_3x3" in svg
    [(tag, image, step, dataformats)] = writer.images
    assert tag == "genotype/picture" and step == 0 and dataformats == "HWC"
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3 and image.min() < 100  # not blank


def test_save_genotype_picture_overwrites_and_is_reproducible(tmp_path):
    space = spaces.get("darts")
    genotype = space.references()["darts_v2"]
    drawing.save_genotype_picture(space, genotype, tmp_path)
    first = (tmp_path / "genotype.svg").read_bytes()
    drawing.save_genotype_picture(space, genotype, tmp_path)
    assert (tmp_path / "genotype.svg").read_bytes() == first


def test_a_space_that_cannot_draw_only_warns(tmp_path):
    class Bare(SearchSpace):
        name = "bare"

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert drawing.save_genotype_picture(Bare(), "x", tmp_path, Recorder()) == []
    assert "cannot draw" in str(caught[0].message) and not list(tmp_path.iterdir())


def test_write_figure_takes_the_format_from_the_suffix(tmp_path):
    fig = spaces.get("macro").draw("22212220")
    assert drawing.write_figure(fig, tmp_path / "m.pdf").read_bytes().startswith(b"%PDF")
    with pytest.raises(ValueError, match="suffix"):
        drawing.write_figure(fig, tmp_path / "m.gif")
    assert [p.name for p in tmp_path.iterdir()] == ["m.pdf"]
