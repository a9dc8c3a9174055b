"""Language server latency, over stdio as an editor drives it.

    python bench/lsp.py            # files of 100, 1,000 and 10,000 lines, 30 samples each
    python bench/lsp.py --quick    # 100 and 1,000 lines, 10 samples

Starts `python -m scoot_lsp` (its default settings), opens one generated
`architecture.sct` and measures, per size, the median and 95th percentile of:

- diagnostics: from sending an incremental change (a port number edited) to
  receiving the `publishDiagnostics` of that version (any debounce included);
- diag. line +/-: the same for the changes of "completion now" (a line inserted
  in the first component, then removed): the text after them moves, as it does
  when a user types;
- completion: a `textDocument/completion` request in a compute's body;
- completion now: the same request sent right after a change (a blank line
  inserted in the compute, then removed), before its diagnostics came back;
- hover: a `textDocument/hover` request on a key.

Beside them, in the same run: a full compile of the same text in this process
(`compile_sources`, median of as many samples), the diagnostics' ratio to it, and
the server's memory (resident set, now and at its peak, from /proc) after the samples.

Targets (issue 16): diagnostics within 50 ms at 1,000 and at 10,000 lines;
completion and hover within 20 ms at any size. A report, not a test: it exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types as lsp
from pygls.lsp.client import LanguageClient

from scoot_lang.compiler import compile_sources

COMPONENT = """\
component svc{i} {{
  compute web {{
    command = ["python3", "-m", "svc{i}", "--port", "{port}"]
    port    = {port}
    env = {{
      DATABASE = data.path
      GREETING = "${{greeting}} from svc{i}"
    }}
  }}
  storage data {{ engine = "sqlite" }}
  connection web_data {{ from = web, to = data }}
}}

"""
HEADER = 'application bench {\n  owner = "acme"\n}\n\nparam greeting: string = "hello"\n\n'


def generate(lines: int) -> str:
    parts = [HEADER]
    count = 0
    i = 0
    while count < lines:
        block = COMPONENT.format(i=i, port=1024 + i % 60000)
        parts.append(block)
        count += block.count("\n")
        i += 1
    return "".join(parts)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def memory_mib(pid: int) -> tuple[float, float]:
    """A process's resident set now and at its peak, in MiB (Linux: /proc)."""
    found: dict[str, float] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(value.split()[0]) / 1024
    return found.get("VmRSS", 0.0), found.get("VmHWM", 0.0)


def full_compiles(text: str, samples: int) -> list[float]:
    """A compile of the whole text from scratch, as the server made on every change before."""
    path = str(Path(tempfile.gettempdir()) / "architecture.sct")
    times = []
    for _ in range(samples + 1):
        gc.collect()
        start = time.perf_counter()
        compile_sources({path: text})
        times.append(time.perf_counter() - start)
    return times[1:]


async def measure(lines: int, samples: int) -> tuple[dict[str, list[float]], tuple[float, float]]:
    text = generate(lines)
    folder = Path(tempfile.mkdtemp(prefix="scoot-lsp-bench-"))
    path = folder / "architecture.sct"
    path.write_text(text, encoding="utf-8")
    uri = path.as_uri()
    client = LanguageClient("scoot-bench", "1")
    received: dict[int, asyncio.Future[float]] = {}

    @client.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def on_diagnostics(params: lsp.PublishDiagnosticsParams) -> None:
        future = received.get(params.version or -1)
        if future is not None and not future.done():
            future.set_result(time.perf_counter())

    @client.feature(lsp.WORKSPACE_CODE_LENS_REFRESH)
    def on_lens_refresh(params: None) -> None:
        return None

    await client.start_io(sys.executable, "-m", "scoot_lsp")
    await client.initialize_async(lsp.InitializeParams(capabilities=lsp.ClientCapabilities(), process_id=None))
    client.initialized(lsp.InitializedParams())
    loop = asyncio.get_running_loop()
    received[1] = loop.create_future()
    client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(text_document=lsp.TextDocumentItem(uri=uri, language_id="scoot", version=1, text=text))
    )
    await asyncio.wait_for(received[1], 60)
    doc = lsp.TextDocumentIdentifier(uri=uri)
    lines_of = text.split("\n")
    port_line = next(n for n, line in enumerate(lines_of) if line.strip().startswith("port"))
    port_col = lines_of[port_line].index("=") + 2
    body_line = port_line + 1  # `env = {`: a completion at its start offers the compute's keys
    results: dict[str, list[float]] = {
        "diagnostics": [],
        "diag. line +/-": [],
        "completion": [],
        "completion now": [],
        "hover": [],
    }
    version = 1
    for sample in range(samples + 1):  # the first is a warm-up
        version += 1
        received[version] = loop.create_future()
        digit = str(sample % 10)
        edit = lsp.Range(start=lsp.Position(line=port_line, character=port_col), end=lsp.Position(line=port_line, character=port_col + 1))
        start = time.perf_counter()
        client.text_document_did_change(
            lsp.DidChangeTextDocumentParams(
                text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[lsp.TextDocumentContentChangePartial(range=edit, text=digit or "1")],
            )
        )
        done = await asyncio.wait_for(received[version], 60)
        if sample:
            results["diagnostics"].append(done - start)
        start = time.perf_counter()
        await client.text_document_completion_async(
            lsp.CompletionParams(text_document=doc, position=lsp.Position(line=body_line, character=4))
        )
        if sample:
            results["completion"].append(time.perf_counter() - start)
        start = time.perf_counter()
        await client.text_document_hover_async(
            lsp.HoverParams(text_document=doc, position=lsp.Position(line=port_line, character=5))
        )
        if sample:
            results["hover"].append(time.perf_counter() - start)
        # A blank line in the compute and a completion on it at once; then it is removed.
        for inserted, removed in (("\n    ", False), ("", True)):
            version += 1
            received[version] = loop.create_future()
            changed = time.perf_counter()
            at = lsp.Position(line=port_line, character=len(lines_of[port_line]))
            end = lsp.Position(line=port_line + 1, character=4) if removed else at
            client.text_document_did_change(
                lsp.DidChangeTextDocumentParams(
                    text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
                    content_changes=[lsp.TextDocumentContentChangePartial(range=lsp.Range(start=at, end=end), text=inserted)],
                )
            )
            if not removed:
                start = time.perf_counter()
                found = await client.text_document_completion_async(
                    lsp.CompletionParams(text_document=doc, position=lsp.Position(line=port_line + 1, character=4))
                )
                if sample:
                    results["completion now"].append(time.perf_counter() - start)
                items = found.items if isinstance(found, lsp.CompletionList) else found or []
                if not any(item.label == "replicas" for item in items):
                    raise SystemExit("completion right after a change did not offer the compute's keys")
            done = await asyncio.wait_for(received[version], 60)
            if sample:
                results["diag. line +/-"].append(done - changed)
    assert client._server is not None
    memory = memory_mib(client._server.pid)
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    results["full compile"] = full_compiles(text, samples)
    return results, memory


TARGETS = {
    "diagnostics": ((1000, 10_000), 0.050),
    "diag. line +/-": ((1000, 10_000), 0.050),
    "completion": (None, 0.020),
    "completion now": (None, 0.020),
    "hover": (None, 0.020),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--samples", type=int)
    parser.add_argument("--sizes", help="comma-separated line counts (default: 100,1000,10000; quick: 100,1000)")
    args = parser.parse_args()
    sizes = [100, 1000] if args.quick else [100, 1000, 10_000]
    if args.sizes:
        sizes = [int(size) for size in args.sizes.split(",")]
    samples = args.samples or (10 if args.quick else 30)
    print(f"{'lines':>7} {'figure':<15} {'median ms':>10} {'p95 ms':>8}  target")
    verdicts: dict[str, bool] = {}
    for lines in sizes:
        results, (rss, peak) = asyncio.run(measure(lines, samples))
        full = statistics.median(results["full compile"])
        for figure, values in results.items():
            median, p95 = statistics.median(values) * 1000, percentile(values, 0.95) * 1000
            note = ""
            if figure in TARGETS:
                at, limit = TARGETS[figure]
                if at is None or lines in at:
                    ok = median <= limit * 1000
                    verdicts[figure] = verdicts.get(figure, True) and ok
                    note = f"{'PASS' if ok else 'MISS'} (median <= {limit * 1000:.0f} ms)"
                if figure.startswith("diag"):
                    note = f"{statistics.median(values) / full:.2f}x a full compile; {note}".rstrip("; ")
            print(f"{lines:>7} {figure:<15} {median:>10.1f} {p95:>8.1f}  {note}")
        print(f"{lines:>7} {'server memory':<15} {rss:>10.1f} {peak:>8.1f}  MiB resident now / at peak")
    for figure, ok in verdicts.items():
        print(f"{figure}: {'PASS' if ok else 'MISS'}")


if __name__ == "__main__":
    main()
