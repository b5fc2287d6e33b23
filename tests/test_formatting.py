"""macros/formatting.py: every formatter as a table of (input, expected)."""

import math

import pytest

from build_data import formatting as f

M = f.MINUS  # the typographic minus every negative number uses
NB = f.NBSP

CASES = [
    # fraction -> percent, one decimal
    (f.fmt_pct, 0.0776, "7.8%"),
    (f.fmt_pct, -0.032, f"{M}3.2%"),
    (f.fmt_pct, 0, "0.0%"),
    (f.fmt_pct, -0.0004, "0.0%"),  # rounds to zero: no "−0.0%"
    (f.fmt_pct, 1e-12, "0.0%"),
    (f.fmt_pct, 12345.678, "1,234,567.8%"),
    (f.fmt_pct, 1, "100.0%"),
    (f.fmt_pct, 0.00125, "0.1%"),
    (f.fmt_pct, 0.00075, "0.1%"),  # ties round away from zero
    (f.fmt_pct, -0.00075, f"{M}0.1%"),
    (f.fmt_signed_pct, 0.0776, "+7.8%"),
    (f.fmt_signed_pct, -0.0123, f"{M}1.2%"),
    (f.fmt_signed_pct, 0.0, "0.0%"),
    (f.fmt_signed_pct, 0.00049, "0.0%"),
    (f.fmt_signed_pct, -1e-15, "0.0%"),
    # native percent (FRED rates)
    (f.fmt_percent, 4.12, "4.12%"),
    (f.fmt_percent, -0.5, f"{M}0.50%"),
    (f.fmt_percent, 0, "0.00%"),
    (f.fmt_percent, 1e9, "1,000,000,000.00%"),
    (f.fmt_percent_range, [3.5, 3.75], "3.50–3.75%"),
    (f.fmt_percent_range, (0, 0.25), "0.00–0.25%"),
    (f.fmt_percent_range, [-0.5, 0], f"{M}0.50–0.00%"),
    # spreads
    (f.fmt_pp, 0.032, f"+3.2{NB}pp"),
    (f.fmt_pp, -0.0595, f"{M}6.0{NB}pp"),  # half-up on the decimal 5.95, not the float 5.9499…
    (f.fmt_pp, 0, f"0.0{NB}pp"),
    (f.fmt_bp, 0.0032, f"+32{NB}bp"),
    (f.fmt_bp, -0.0001, f"{M}1{NB}bp"),
    (f.fmt_bp, 0.00004, f"0{NB}bp"),
    (f.fmt_bp, 12.5, f"+125,000{NB}bp"),
    # prices and plain numbers
    (f.fmt_price, 2610.4, "2,610.40"),
    (f.fmt_price, -12.345, f"{M}12.35"),
    (f.fmt_price, 0, "0.00"),
    (f.fmt_price, 1e12, "1,000,000,000,000.00"),
    (f.fmt_price, 0.001, "0.00"),
    (f.fmt_number, 71.24, "71.2"),
    (f.fmt_number, -0.04, "0.0"),
    (f.fmt_number, 1234567.89, "1,234,567.9"),
    (f.fmt_int, 12, "12"),
    (f.fmt_int, 25_100_000, "25,100,000"),
    (f.fmt_int, -3, f"{M}3"),
    (f.fmt_int, 0.4, "0"),
    (f.fmt_int, 1e18, "1,000,000,000,000,000,000"),
    # compact counts
    (f.fmt_compact, 40_500_000, "40.5M"),
    (f.fmt_compact, 25_100_000, "25.1M"),
    (f.fmt_compact, 25_000_000, "25M"),
    (f.fmt_compact, 198_000, "198K"),
    (f.fmt_compact, 1_234, "1.2K"),
    (f.fmt_compact, 999, "999"),
    (f.fmt_compact, 999.6, "1K"),
    (f.fmt_compact, 999_999, "1M"),  # not "1,000K"
    (f.fmt_compact, 2.5e9, "2.5B"),
    (f.fmt_compact, 1e12, "1T"),
    (f.fmt_compact, 1.5e15, "1,500T"),
    (f.fmt_compact, 0, "0"),
    (f.fmt_compact, -1_234_567, f"{M}1.2M"),
    (f.fmt_compact, 0.00412, "0.00412"),
    (f.fmt_compact, 12.34, "12.3"),
    # ratios, multiples, dollars
    (f.fmt_ratio, 0.62, "0.62×"),
    (f.fmt_ratio, 0, "0.00×"),
    (f.fmt_ratio, -1.5, f"{M}1.50×"),
    (f.fmt_ratio, 4e-7, "0.00×"),
    (f.fmt_ratio, 123456.789, "123,456.79×"),
    (f.fmt_multiple, 18.1, "18.1×"),
    (f.fmt_multiple, 33, "33.0×"),
    (f.fmt_usd_bn, 45.9, "$45.9bn"),
    (f.fmt_usd_bn, -6.4, f"{M}$6.4bn"),
    (f.fmt_usd_bn, -0.01, "$0.0bn"),
    (f.fmt_usd_bn, 12345, "$12,345.0bn"),
    # dates, booleans, labels, ages
    (f.fmt_date, "2026-01-15", "Jan 15, 2026"),
    (f.fmt_date, "2025-09-08", "Sep 8, 2025"),
    (f.fmt_date, "1987-12-31", "Dec 31, 1987"),
    (f.fmt_month, "2025-12-31", "Dec 2025"),
    (f.fmt_timestamp, "2026-01-16T01:02:03Z", "Jan 16, 2026, 01:02 UTC"),
    (f.fmt_timestamp, "2026-01-15T21:30:00-05:00", "Jan 16, 2026, 02:30 UTC"),
    (f.fmt_bool, True, "yes"),
    (f.fmt_bool, False, "no"),
    (f.fmt_label, "Energy", "Energy"),
    (f.fmt_age, 0, "from today"),
    (f.fmt_age, 1, "1 day old"),
    (f.fmt_age, 40, "40 days old"),
    (f.fmt_age, 1200, "1,200 days old"),
]


@pytest.mark.parametrize(("func", "value", "expected"), CASES, ids=lambda v: getattr(v, "__name__", repr(v)))
def test_formats(func, value, expected):
    assert func(value) == expected


NUMBER_FORMATTERS = [
    f.fmt_pct, f.fmt_signed_pct, f.fmt_percent, f.fmt_pp, f.fmt_bp, f.fmt_price, f.fmt_number,
    f.fmt_int, f.fmt_compact, f.fmt_ratio, f.fmt_multiple, f.fmt_usd_bn, f.fmt_age,
]  # fmt: skip


@pytest.mark.parametrize("func", NUMBER_FORMATTERS, ids=lambda fn: fn.__name__)
@pytest.mark.parametrize("bad", [None, math.nan, float("nan"), math.inf, -math.inf])
def test_number_formatters_refuse_missing_values(func, bad):
    with pytest.raises(ValueError):
        func(bad)


@pytest.mark.parametrize("func", NUMBER_FORMATTERS, ids=lambda fn: fn.__name__)
@pytest.mark.parametrize("bad", [True, "7.8", [1], {"value": 1}])
def test_number_formatters_refuse_non_numbers(func, bad):
    with pytest.raises(TypeError):
        func(bad)


@pytest.mark.parametrize(
    ("func", "bad", "error"),
    [
        (f.fmt_percent_range, [3.5, math.nan], ValueError),
        (f.fmt_percent_range, [3.5, None], ValueError),
        (f.fmt_percent_range, [3.5], TypeError),
        (f.fmt_percent_range, "3.5-3.75", TypeError),
        (f.fmt_date, "15/01/2026", ValueError),
        (f.fmt_timestamp, "2026-01-16T01:02:03", ValueError),  # no zone: ambiguous
        (f.fmt_timestamp, "yesterday", ValueError),
        (f.fmt_timestamp, None, TypeError),
        (f.fmt_date, None, TypeError),
        (f.fmt_date, 20260115, TypeError),
        (f.fmt_bool, 1, TypeError),
        (f.fmt_bool, None, TypeError),
        (f.fmt_label, None, TypeError),
        (f.fmt_label, "  ", ValueError),
        (f.fmt_age, -1, ValueError),
        (f.fmt_age, 1.5, ValueError),
    ],
)
def test_other_formatters_refuse_bad_input(func, bad, error):
    with pytest.raises(error):
        func(bad)


@pytest.mark.parametrize(
    ("value", "unit", "fmt", "expected"),
    [
        (0.0776, "fraction", None, "7.8%"),
        (0.0776, "fraction", "signed_pct", "+7.8%"),
        (0.0595, "fraction", "pp", f"+6.0{NB}pp"),
        (0.0595, "fraction", "bp", f"+595{NB}bp"),
        (4.12, "percent", None, "4.12%"),
        (4.12, "percent", "bp", f"+412{NB}bp"),
        (-0.25, "percent", "pp", f"{M}0.3{NB}pp"),
        ([3.5, 3.75], "percent_range", None, "3.50–3.75%"),
        (2610.4, "price", None, "2,610.40"),
        (2610.4, "price", "compact", "2.6K"),
        (2610.4, "price", "int", "2,610"),
        (71.24, "index", None, "71.2"),
        (71.24, "index", "int", "71"),
        (25_100_000, "count", None, "25.1M"),
        (25_100_000, "count", "int", "25,100,000"),
        (0.62, "ratio", None, "0.62×"),
        (12, "sessions", None, "12"),
        ("2025-09-18", "date", None, "Sep 18, 2025"),
        ("2025-09-18", "date", "month", "Sep 2025"),
        (True, "bool", None, "yes"),
        ("Energy", "label", None, "Energy"),
        (45.9, "usd_bn", None, "$45.9bn"),
        (18.1, "multiple", None, "18.1×"),
    ],
)
def test_format_value_by_unit(value, unit, fmt, expected):
    assert f.format_value(value, unit, fmt) == expected


@pytest.mark.parametrize(
    ("value", "unit", "fmt"),
    [
        (0.07, "fraction", "price"),  # a return is not a price
        (2610.4, "price", "pct"),
        ("2025-09-18", "date", "int"),
        (True, "bool", "pct"),
        (1, "furlongs", None),
        (None, "fraction", None),
        (math.nan, "index", None),
    ],
)
def test_format_value_rejects_mismatches(value, unit, fmt):
    with pytest.raises(ValueError):
        f.format_value(value, unit, fmt)


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [(5.3, "percent", "5.3%"), (45.9, "usd_bn", "$45.9bn"), ("less compelling", "text", "less compelling"),
     # Without decimals, as many as the value needs: no false precision.
     (0.61, "fraction", "61%"), (33.0, "multiple", "33×"), (0.0285, "fraction", "2.85%"), (2442.74, "price", "2,442.74"),
     (198000.0, "count", "198,000"), (-6.4, "usd_bn", f"{f.MINUS}$6.4bn"), (4.0, "percent", "4%")],
)
def test_fact_values(value, unit, expected):
    assert f.format_fact_value(value, unit) == expected


@pytest.mark.parametrize(
    ("value", "unit", "decimals", "expected"),
    [(0.61, "fraction", 1, "61.0%"), (0.61, "fraction", 0, "61%"), (33.0, "multiple", 1, "33.0×"),
     (18.1, "multiple", 0, "18×"), (2.5, "percent", 2, "2.50%"), (3.0, "count", 0, "3")],
)
def test_fact_values_with_the_decimals_they_were_published_with(value, unit, decimals, expected):
    assert f.format_fact_value(value, unit, decimals) == expected


@pytest.mark.parametrize(
    ("written", "unit", "decimals"),
    [("0.61", "fraction", 0), ("0.610", "fraction", 1), ("0.0285", "fraction", 2), ("0.10", "fraction", 0),
     ("33", "multiple", 0), ("33.0", "multiple", 1), ("2442.74", "price", 2), ("5.30", "percent", 2),
     ("198000", "count", 0), ("-6.4", "usd_bn", 1), ("1e3", "count", None), ("less", "text", None)],
)
def test_written_decimals_read_the_yaml_text(written, unit, decimals):
    assert f.written_decimals(written, unit) == decimals


def test_fact_decimals_must_be_whole_and_not_negative():
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="decimals"):
            f.format_fact_value(0.5, "fraction", bad)


def test_template_fragments_escape_text_and_come_out_on_one_line():
    from macros.html import T, esc

    na = T.na("too <little> [history](x)", "metric", "k")
    assert na.startswith('<span class="na metric" title="too &lt;little&gt; &#91;history&#93;&#40;x&#41;" data-key="k">—')
    table = T.reference_table("t", ["A", "B"], [["x_y", "<b>x</b>"]])
    assert "<td><code>x_y</code></td><td>&lt;b&gt;x&lt;/b&gt;</td>" in table and "\n" not in table
    assert esc("_lead *b* {: #id }") == "&#95;lead &#42;b&#42; &#123;: #id &#125;"


def test_every_unit_has_a_default_format():
    for unit, table in f.FORMATS.items():
        assert table, unit
