"""Units: every number costlab prints or reads (human sizes, shapes, durations, quantities with units)."""

from __future__ import annotations

import pytest

from costlab.units import (
    QuantityError,
    age,
    binary_bytes,
    duration,
    exact,
    finite_number,
    format_delta,
    format_quantity,
    human,
    parse_quantity,
    shape,
    shape_text,
    shapes_text,
)


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (3_504_872, "", "3.50 M"),  # three significant digits below 100 of a prefix
        (300_774_272, "", "300.8 M"),  # four from 100 up
        (14_218_000, "B", "14.2 MB"),
        (512, "", "512"),
        (999, "", "999"),
        (1_000, "", "1.00 K"),
        (0.25, "", "0.25"),
        (1.5e12, "FLOP/s", "1.50 TFLOP/s"),
    ],
)
def test_human(value: float, unit: str, text: str) -> None:
    assert human(value, unit) == text


def test_shapes_two_ways() -> None:
    assert shape((1, 32, 112, 112)) == "1×32×112×112" and shape(None) == ""
    assert shape_text((1, 3, 224, 224)) == "1x3x224x224"
    assert shapes_text([(1, 3, 8, 8), (1, 10)]) == "1x3x8x8, 1x10"
    assert shapes_text([(1, 3, 8, 8), (1, 10)], ",") == "1x3x8x8,1x10"  # what --input takes back


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0.0123, "12.3 µs"),
        (0.58, "580.0 µs"),  # four digits from 100 up, as human() writes 300.8 M
        (1.0, "1.00 ms"),  # never "1 ms" beside "1.26 ms"
        (4.56, "4.56 ms"),
        (11, "11.0 ms"),
        (41.7, "41.7 ms"),
        (1234, "1.23 s"),
        (0, "0.00 ms"),
    ],
)
def test_duration(ms: float, text: str) -> None:
    assert duration(ms) == text


def test_format_delta_and_finite() -> None:
    assert (format_delta(0.0613), format_delta(-0.03), format_delta(0)) == ("+6.1%", "-3.0%", "+0.0%")
    assert finite_number(3) and finite_number(2.5) and not finite_number(True) and not finite_number(float("nan"))


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        ("350M", "count", 350e6),
        ("1.2G", "count", 1.2e9),
        ("3.6M", "count", 3.6e6),
        ("350 M", "count", 350e6),
        ("12K", "count", 12e3),
        ("12k", "count", 12e3),
        ("1_000", "count", 1000.0),
        ("3.5e8", "count", 3.5e8),
        (350_000_000, "count", 350e6),  # plain TOML integer
        (1.5e6, "count", 1.5e6),  # plain TOML float
        ("12 MB", "bytes", 12e6),  # decimal, as costlab prints sizes
        ("12MB", "bytes", 12e6),
        ("1.5 GB", "bytes", 1.5e9),
        ("64 KiB", "bytes", 65_536.0),  # binary on request: 64·1024
        ("512 B", "bytes", 512.0),
        (4096, "bytes", 4096.0),
        ("8 ms", "ms", 8.0),
        ("8ms", "ms", 8.0),
        ("1.5 s", "ms", 1500.0),
        ("800 us", "ms", 0.8),
        (8, "ms", 8.0),  # plain numbers are milliseconds
        ("5%", "percent", 0.05),
        ("2.5 %", "percent", 0.025),
        ("0%", "percent", 0.0),
        (5, "percent", 0.05),  # plain numbers are percent
    ],
)
def test_parse_quantity(text: str | float, kind: str, expected: float) -> None:
    assert parse_quantity(text, kind) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("text", "kind", "message"),
    [
        ("12 parsecs", "count", '"12 parsecs" is not a count; write e.g. "350M"'),
        ("-3M", "count", '"-3M" is negative; a limit is 0 or more, e.g. "350M"'),
        (-3, "count", "-3 is negative"),
        ("", "count", '"" is not a count'),
        ("M", "count", '"M" is not a count'),
        ("350m", "count", '"350m" is not a count'),  # milli-MACs: surely a typo for M
        ("12 MB", "count", '"12 MB" is a size in bytes, not a count; write e.g. "350M"'),
        ("8 ms", "bytes", '"8 ms" is a time, not a size in bytes; write e.g. "12 MB"'),
        ("5%", "ms", '"5%" is a percentage, not a time'),
        ("1.2.3G", "count", "is not a count"),
        (True, "count", "True is not a count"),
        (float("nan"), "count", "is not a count"),
        ("five", "percent", '"five" is not a percentage; write e.g. "5%"'),
    ],
)
def test_parse_quantity_rejects(text: object, kind: str, message: str) -> None:
    with pytest.raises(QuantityError) as caught:
        parse_quantity(text, kind)  # some are not str | int | float, on purpose
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [(300e6, "", "300.0 M"), (318.4e6, "", "318.4 M"), (1.2e9, "", "1.20 G"), (12e6, "B", "12.0 MB"),
     (214_464, "B", "214.5 KB"), (512, "", "512"), (8.0, "ms", "8.00 ms"), (8.256, "ms", "8.26 ms"), (123.4, "ms", "123.4 ms")],
)
def test_format_quantity_formats_limits_as_tables_print_numbers(value: float, unit: str, text: str) -> None:
    assert format_quantity(value, unit) == text


def test_exact_counts_to_the_last_unit() -> None:
    assert exact(314_193_216) == "314,193,216"
    assert (exact(13_356_224, sign=True), exact(-1_000, sign=True), exact(0)) == ("+13,356,224", "-1,000", "0")


def test_binary_bytes_write_cache_capacities():
    assert binary_bytes(32 * 1024) == "32 KiB"  # L1d
    assert binary_bytes(512 * 1024) == "512 KiB"  # L2
    assert binary_bytes(32 * 2**20) == "32 MiB"  # L3: 32,768 KiB
    assert binary_bytes(3 * 2**19) == "1.5 MiB"  # 1,572,864 B
    assert binary_bytes(100) == "100 B"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(-5, "under a minute ago"), (59, "under a minute ago"), (60, "1 min ago"), (3599, "59 min ago"),
     (3 * 3600 + 540, "3 h ago"), (47 * 3600, "47 h ago"), (48 * 3600, "2 days ago"), (334 * 86400, "334 days ago")],
)
def test_age_rounds_down_to_its_unit(seconds, text):
    assert age(seconds) == text
