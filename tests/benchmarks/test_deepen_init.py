"""benchmarks/deepen_init.py: blocks inserted before the last one, the rest of the net unchanged."""

from __future__ import annotations

import torch

from fabric_inspect.models.network import DefectNet, NetworkConfig, normalize


def test_inserted_blocks_go_before_the_last_and_barely_move_the_output(load_benchmark):
    deepen = load_benchmark("deepen_init")
    torch.manual_seed(0)
    net = DefectNet(NetworkConfig(widths=(8, 8, 16), dilations=(1, 2, 4), line_pool=True)).eval()
    with torch.no_grad():  # a LinePool that does something, so its place matters
        for conv in (net.lines.column, net.lines.row):
            conv.weight.normal_(0.0, 0.3)
    deeper = deepen.deepen(net, (1, 3)).eval()
    assert deeper.config.dilations == (1, 2, 1, 3, 4)
    last = deeper.features[-1].body[0]
    assert last.dilation == (4, 4)
    assert torch.equal(last.weight, net.features[-1].body[0].weight)
    assert deeper.features[5].body[-2].weight.eq(deepen.GAMMA).all()
    x = normalize(torch.randint(0, 256, (2, 3, 64, 64), dtype=torch.uint8))
    with torch.no_grad():
        (a, ca), (b, cb) = net(x), deeper(x)
    moved = float((a - b).abs().max())
    assert 0.0 < moved < 0.3, moved  # learning can start: not exactly the old net
    assert float((ca - cb).abs().max()) < 0.3


def test_the_checkpoint_it_writes_loads_as_the_deeper_net(load_benchmark, tmp_path, monkeypatch):
    from fabric_inspect.models.checkpoint import load_checkpoint, network_from_checkpoint, save_checkpoint

    deepen = load_benchmark("deepen_init")
    net = DefectNet(NetworkConfig(widths=(8, 8, 16), dilations=(1, 2), line_pool=True))
    source = save_checkpoint(
        tmp_path / "small.pt",
        {"model": net.state_dict(), "config": net.config.to_dict(), "classes": list(net.config.classes)},
    )
    out = tmp_path / "deep.pt"
    monkeypatch.setattr(
        "sys.argv", ["deepen_init", "--weights", str(source), "--insert", "1", "--out", str(out)]
    )
    deepen.main()
    assert network_from_checkpoint(load_checkpoint(out)).config.dilations == (1, 1, 2)
