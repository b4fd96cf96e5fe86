"""The per-cell-type edges × ops tables behind the search log's and the trainer's heatmaps."""
from __future__ import annotations


import numpy as np
import torch

from ptnas import spaces
from ptnas.heatmaps import edge_op_tables
from ptnas.search_log import SearchLog
from ptnas.supernet.training import alpha_softmax


def test_tables_are_per_cell_type_with_nan_where_an_edge_lacks_the_op():
    torch.manual_seed(0)
    net = spaces.get("darts").supernet(C=4, layers=3, op_set="s1")  # RobustDARTS s1: each edge its own 2 ops
    tables = edge_op_tables(net, lambda e, o: float(len(o)))
    assert set(tables) == {"normal", "reduce"}
    edges, ops, values = tables["normal"]
    assert edges == [e for e in net.edges() if e.startswith("normal:")]
    for i, e in enumerate(edges):
        assert [ops[j] for j in np.flatnonzero(~np.isnan(values[i]))] == sorted(net.ops(e), key=ops.index)
        assert all(values[i, ops.index(o)] == len(o) for o in net.ops(e))
    assert np.isnan(values).any()  # s1 edges differ, so some cells of the table are empty


def test_alpha_softmax_rows_sum_to_one_and_the_log_draws_an_image():
    torch.manual_seed(0)
    net = spaces.get("nb201").supernet(C=4, N=1)
    (edges, ops, probs), = alpha_softmax(net).values()
    assert edges == list(net.edges()) and np.allclose(np.nansum(probs, 1), 1)
    log = SearchLog(None)
    log.score(0, 0, "op", "1<-0", "none", 2.0)
    net.discretize("1<-0", "none")
    image = log._heatmaps(0, net)[""]
    assert image.dtype == np.uint8 and image.shape[2] == 3
