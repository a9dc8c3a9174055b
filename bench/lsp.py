"""Language server latency, over stdio as an editor drives it.

    python bench/lsp.py            # files of 100, 1,000 and 10,000 lines, 30 samples each
    python bench/lsp.py --quick    # 100 and 1,000 lines, 10 samples

Starts `python -m scoot_lsp` (its default debounce), opens one generated
`architecture.sct` and measures, per size, the median and 95th percentile of:

- diagnostics: from sending an incremental change (a port number edited) to
  receiving the `publishDiagnostics` of that version (debounce included);
- completion: a `textDocument/completion` request in a compute's body;
- hover: a `textDocument/hover` request on a key.

Targets (issue 4): diagnostics on a 1,000-line file within 50 ms; completion
and hover within 20 ms at any size. A report, not a test: it exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types as lsp
from pygls.lsp.client import LanguageClient

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


async def measure(lines: int, samples: int) -> dict[str, list[float]]:
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
    results: dict[str, list[float]] = {"diagnostics": [], "completion": [], "hover": []}
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
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return results


TARGETS = {"diagnostics": (1000, 0.050), "completion": (None, 0.020), "hover": (None, 0.020)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--samples", type=int)
    args = parser.parse_args()
    sizes = [100, 1000] if args.quick else [100, 1000, 10_000]
    samples = args.samples or (10 if args.quick else 30)
    print(f"{'lines':>7} {'figure':<12} {'median ms':>10} {'p95 ms':>8}  target")
    verdicts: dict[str, bool] = {}
    for lines in sizes:
        results = asyncio.run(measure(lines, samples))
        for figure, values in results.items():
            median, p95 = statistics.median(values) * 1000, percentile(values, 0.95) * 1000
            at, limit = TARGETS[figure]
            note = ""
            if at is None or at == lines:
                ok = median <= limit * 1000
                verdicts[figure] = verdicts.get(figure, True) and ok
                note = f"{'PASS' if ok else 'MISS'} (median <= {limit * 1000:.0f} ms)"
            print(f"{lines:>7} {figure:<12} {median:>10.1f} {p95:>8.1f}  {note}")
    for figure, ok in verdicts.items():
        print(f"{figure}: {'PASS' if ok else 'MISS'}")


if __name__ == "__main__":
    main()
