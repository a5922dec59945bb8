"""Benchmark: the raw sender (build, DKIM-sign, one reused SMTP connection) beside Django's send_messages.

    .venv/bin/python bench/send_bench.py --count 20000

Both send the same N personalized-looking messages (a different To, name and body each, text and HTML parts of
about 3 kB) to the same local aiosmtpd sink running in another process, measured in the same run:
- baseline: Django's SMTP backend, `get_connection().send_messages(messages)` over one connection (unsigned);
- sender: for each message `render_message()` + `dkim.sign()` (rsa-sha256, 2048-bit key) +
  `SmtpSession.send(..., before_final_dot=...)` over one connection (the callback is a no-op here; the
  campaign part commits "sent" there).
Prints messages/s of each and the ratio (target: >= 500 msg/s and >= 0.65x Django). The sink counts what it
accepted; the bench fails if a message is missing.

The campaign part extends this to the whole pipeline (claims, merge, tracking): it can call `run_sink()`,
`django_baseline(n, port)`, `raw_sender(n, port)` and `personalized(n)`.
"""

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smarketing.settings")

HTML = """<!doctype html><html><body style="font-family:sans-serif">
<h1>Hello {first},</h1>
<p>Thanks for looking at our {product} plans last week, {first}. Here is what teams like {company} do next.</p>
<p><a href="https://acme.example/pricing?c={i}">See pricing</a> &middot;
<a href="https://acme.example/demo?c={i}">Book a demo</a></p>
{paragraphs}
<p>Best,<br>Maya from Acme</p>
<p style="font-size:12px">Acme Inc, 1 Main Street, Springfield. <a href="https://acme.example/e/u/{i}">Unsubscribe</a></p>
</body></html>"""
PARAGRAPH = "<p>Paragraph {n} for {first} at {company}: pipelines, lists, reports and the closed loop.</p>\n"
FIRST = ["Dana", "Lee", "Ana", "Jörg", "Mia", "Sam", "Noor", "Chen", "Zoë", "Tom"]
PRODUCT = ["Starter", "Team", "Business", "Enterprise"]


def personalized(n: int) -> list[dict]:
    """N recipients with their own subject, text and HTML (generated before timing, for both contenders)."""
    import html2text

    converter = html2text.HTML2Text()
    rows = []
    template_text = None
    for i in range(n):
        first = FIRST[i % len(FIRST)]
        company = f"Company {i % 997}"
        paragraphs = "".join(PARAGRAPH.format(n=k, first=first, company=company) for k in range(20))
        html = HTML.format(first=first, product=PRODUCT[i % 4], company=company, i=i, paragraphs=paragraphs)
        if template_text is None:
            template_text = converter.handle(html)  # once: text generation is the template part's cost
        text = template_text.replace("Dana", first).replace("Company 0", company) + f"\nRef {i}\n"
        rows.append(
            {
                "to": f"contact{i}@client{i % 50}.example",
                "name": f"{first} Example{i}",
                "subject": f"{first}, your {PRODUCT[i % 4]} plan",
                "text": text,
                "html": html,
            }
        )
    return rows


def _sink_main(port: int, counter, ready) -> None:
    import asyncio

    from aiosmtpd.controller import Controller

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            with counter.get_lock():
                counter.value += len(envelope.rcpt_tos)
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port, data_size_limit=10_000_000)
    controller.start()
    ready.set()
    try:
        asyncio.run(asyncio.sleep(10**9))
    finally:
        controller.stop()


def run_sink(port: int | None = None):
    """Start an aiosmtpd sink in another process: (process, port, counter). Stop it with process.terminate()."""
    from smarketing.mail.testing import free_port

    port = port or free_port()
    context = multiprocessing.get_context("spawn")
    counter = context.Value("q", 0)
    ready = context.Event()
    process = context.Process(target=_sink_main, args=(port, counter, ready), daemon=True)
    process.start()
    if not ready.wait(30):
        raise RuntimeError("the SMTP sink did not start")
    return process, port, counter


def django_baseline(n: int, port: int, rows: list[dict] | None = None) -> float:
    """Seconds Django's SMTP backend takes to send N messages over one connection (building included)."""
    from django.core.mail import EmailMultiAlternatives, get_connection

    rows = rows or personalized(n)
    start = time.perf_counter()
    connection = get_connection("django.core.mail.backends.smtp.EmailBackend", host="127.0.0.1", port=port)
    messages = []
    for row in rows[:n]:
        message = EmailMultiAlternatives(
            row["subject"], row["text"], "Maya at Acme <maya@acme.example>", [f"{row['name']} <{row['to']}>"]
        )
        message.attach_alternative(row["html"], "text/html")
        messages.append(message)
    sent = connection.send_messages(messages)
    elapsed = time.perf_counter() - start
    if sent != n:
        raise RuntimeError(f"Django sent {sent} of {n}")
    return elapsed


def raw_sender(n: int, port: int, rows: list[dict] | None = None) -> float:
    """Seconds the mail core takes to build, DKIM-sign and send N messages over one SmtpSession."""
    from smarketing.mail import dkim
    from smarketing.mail.message import render_message
    from smarketing.mail.transport import SmtpSession

    rows = rows or personalized(n)
    committed = []
    start = time.perf_counter()
    with SmtpSession("127.0.0.1", port, username="", password="", use_tls=False) as smtp:
        for row in rows[:n]:
            message = render_message(
                from_name="Maya at Acme",
                from_email="maya@acme.example",
                to_email=row["to"],
                to_name=row["name"],
                subject=row["subject"],
                html=row["html"],
                text=row["text"],
                headers={
                    "List-Unsubscribe": "<https://acme.example/e/u/token>",
                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                },
                stream="marketing",
            )
            raw = dkim.sign(message)
            result = smtp.send("bounces@acme.example", [row["to"]], raw, before_final_dot=lambda: committed.append(1))
            if not result.ok:
                raise RuntimeError(f"refused: {result}")
    elapsed = time.perf_counter() - start
    if len(committed) != n:
        raise RuntimeError(f"sent {len(committed)} of {n}")
    return elapsed


def dkim_settings(directory: Path) -> dict:
    from smarketing.mail import dkim

    key = directory / "bench-dkim.pem"
    key.write_bytes(dkim.generate_private_key())
    return {"DKIM_DOMAIN": "acme.example", "DKIM_SELECTOR": "bench", "DKIM_PRIVATE_KEY_FILE": str(key)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20_000)
    args = parser.parse_args()

    import django

    django.setup()
    from django.test.utils import override_settings

    n = args.count
    rows = personalized(n)
    process, port, counter = run_sink()
    try:
        with override_settings(**dkim_settings(Path(tempfile.mkdtemp(prefix="send-bench-")))):
            raw_sender(min(200, n), port, rows)  # warm-up: key loaded, connection paths hot
            django_baseline(min(200, n), port, rows)
            before = counter.value
            django_seconds = django_baseline(n, port, rows)
            ours_seconds = raw_sender(n, port, rows)
            time.sleep(0.5)
            received = counter.value - before
    finally:
        process.terminate()
        process.join(10)
    if received != 2 * n:
        raise SystemExit(f"the sink received {received} messages, expected {2 * n}")
    django_rate, ours_rate = n / django_seconds, n / ours_seconds
    load = os.getloadavg()
    print(f"messages: {n} each, sink in another process (aiosmtpd), load average {load[0]:.2f} {load[1]:.2f}")
    print(f"Django send_messages (unsigned): {django_seconds:8.2f} s  {django_rate:8.0f} msg/s")
    print(f"mail core (built, DKIM-signed):  {ours_seconds:8.2f} s  {ours_rate:8.0f} msg/s")
    print(f"ratio: {ours_rate / django_rate:.2f}x Django (target >= 0.65x, >= 500 msg/s)")


if __name__ == "__main__":
    main()
