import time

import test_abort_codes as m

async def test_probe(localnet_factory, tx_factory, tmp_path):
    t0 = time.perf_counter()
    net = await localnet_factory(block_interval_ms=20)
    print("start", time.perf_counter() - t0)
    async with m.Chain.open(net, tx_factory) as ch:
        t = time.perf_counter(); v = await m._observe(ch, "demo"); print("observe", time.perf_counter() - t)
        t = time.perf_counter(); net.node.model.to_json(); print("to_json", time.perf_counter() - t)
        t = time.perf_counter(); await ch.client.account_sequence_number(ch.address("A")); print("seq", time.perf_counter() - t)
        t = time.perf_counter(); d = await ch.send(m.call("admin", "payouts::init_payouts")); print("send", time.perf_counter() - t)
