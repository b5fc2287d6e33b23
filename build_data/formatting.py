"""Pure formatters: a value from the snapshot in, the text the site shows out. The pages
(macros/) and the build's own checks of the prose (naked numbers) format through here.

Nothing here reads files or computes a market number. Number formatters refuse None, NaN,
infinities, booleans and strings (they raise), so a page can never show "nan" or "None".
Negative numbers use the typographic minus (U+2212); a value that rounds to zero is shown
without a sign.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections.abc import Callable, Sequence
from decimal import ROUND_HALF_UP, Decimal, localcontext
from numbers import Real

from build_data.units import METRIC_UNITS

MINUS = "\u2212"
NBSP = "\u00a0"
EN_DASH = "\u2013"
EM_DASH = "\u2014"
TIMES = "\u00d7"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class FormatError(ValueError):
    """A value that cannot be shown in the requested format."""


# ---------------------------------------------------------------- numbers


def _finite(x: object) -> float:
    """The value as a float, or an error: None, NaN and infinities are never formatted."""
    if x is None:
        raise FormatError("no value (None): a missing value must carry a reason instead")
    # bool is an int subclass: True would print as "1", which is never what a page means.
    if isinstance(x, bool) or not isinstance(x, Real):
        raise TypeError(f"expected a number, got {type(x).__name__} {x!r}")
    f = float(x)
    if math.isnan(f):
        raise FormatError("not a number (NaN)")
    if math.isinf(f):
        raise FormatError(f"infinite value ({f})")
    return f


def _dec(x: float, shift: int = 0) -> Decimal:
    """Exact decimal of the float's shortest repr, times 10**shift (0.0595 -> 5.95, not 5.9499…)."""
    return Decimal(repr(x)).scaleb(shift)


def _fixed(x: float | Decimal, decimals: int, *, signed: bool = False, shift: int = 0) -> str:
    """Fixed-point text: thousands separators, half-up rounding, a real minus sign, no "-0.0"."""
    d = _dec(x, shift) if isinstance(x, float) else Decimal(x).scaleb(shift)
    with localcontext() as ctx:
        ctx.prec = 400  # enough digits for any finite float
        body = f"{abs(d).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP):,f}"
    nonzero = any(c in "123456789" for c in body)
    if d < 0 and nonzero:
        return MINUS + body
    if signed and nonzero:
        return "+" + body
    return body


def fmt_number(x: object, decimals: int = 1) -> str:
    """Plain number with thousands separators: 71.234 -> "71.2"."""
    return _fixed(_finite(x), decimals)


def fmt_int(x: object) -> str:
    """Whole number with thousands separators: 25100000 -> "25,100,000"."""
    return _fixed(_finite(x), 0)


def fmt_price(x: object, decimals: int = 2) -> str:
    """Price or index level: 2610.4 -> "2,610.40"."""
    return _fixed(_finite(x), decimals)


def fmt_pct(fraction: object, decimals: int = 1) -> str:
    """A fraction as a percent: 0.0776 -> "7.8%"."""
    return _fixed(_finite(fraction), decimals, shift=2) + "%"


def fmt_signed_pct(fraction: object, decimals: int = 1) -> str:
    """A fraction as a signed percent: 0.0776 -> "+7.8%", -0.032 -> "−3.2%"."""
    return _fixed(_finite(fraction), decimals, signed=True, shift=2) + "%"


def fmt_percent(value: object, decimals: int = 2, *, signed: bool = False) -> str:
    """A number already in percent (FRED rates): 4.12 -> "4.12%"."""
    return _fixed(_finite(value), decimals, signed=signed) + "%"


def fmt_percent_range(pair: object, decimals: int = 2) -> str:
    """A range already in percent: [3.5, 3.75] -> "3.50–3.75%"."""
    if isinstance(pair, (str, bytes)) or not isinstance(pair, Sequence) or len(pair) != 2:
        raise TypeError(f"expected a [low, high] pair, got {pair!r}")
    lo, hi = (_fixed(_finite(v), decimals) for v in pair)
    return f"{lo}{EN_DASH}{hi}%"


def fmt_pp(fraction: object, decimals: int = 1) -> str:
    """A spread between two fractions in percentage points: 0.032 -> "+3.2 pp"."""
    return _fixed(_finite(fraction), decimals, signed=True, shift=2) + NBSP + "pp"


def fmt_bp(fraction: object, decimals: int = 0) -> str:
    """A spread between two fractions in basis points: 0.0032 -> "+32 bp"."""
    return _fixed(_finite(fraction), decimals, signed=True, shift=4) + NBSP + "bp"


_COMPACT = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K"))


def fmt_compact(x: object) -> str:
    """Large counts, short: 40_500_000 -> "40.5M", 198_000 -> "198K", 950 -> "950".

    One decimal below 100 of a unit (a trailing ".0" dropped), none from 100 up; a value that
    rounds up to 1,000 of a unit moves to the next unit (999_999 -> "1M", not "1,000K").
    """
    f = _finite(x)
    sign = MINUS if f < 0 else ""
    a = _dec(abs(f))
    for i, (size, suffix) in enumerate(_COMPACT):
        scaled = a / Decimal(int(size))
        if scaled < 1 and not (size == 1e3 and a >= Decimal("999.5")):
            continue
        body = _fixed(scaled, 1 if scaled < Decimal("99.95") else 0)
        if body == "1,000" and i > 0:
            body, suffix = "1", _COMPACT[i - 1][1]
        return sign + body.removesuffix(".0") + suffix
    if a == a.to_integral_value():
        return sign + _fixed(a, 0) if a else "0"
    # Small non-integers keep three significant digits: 0.00412 -> "0.00412".
    digits = max(0, 2 - a.adjusted())
    return sign + _fixed(a, digits).rstrip("0").rstrip(".")


def fmt_ratio(x: object, decimals: int = 2) -> str:
    """A ratio: 0.62 -> "0.62×"."""
    return _fixed(_finite(x), decimals) + TIMES


def fmt_multiple(x: object, decimals: int = 1) -> str:
    """A valuation multiple: 18.1 -> "18.1×"."""
    return _fixed(_finite(x), decimals) + TIMES


def fmt_usd_bn(x: object, decimals: int = 1) -> str:
    """US dollars in billions: 45.9 -> "$45.9bn", -6.4 -> "−$6.4bn"."""
    text = _fixed(_finite(x), decimals)
    if text.startswith(MINUS):
        return MINUS + "$" + text[1:] + "bn"
    return "$" + text + "bn"


# ---------------------------------------------------------------- other types


def _date(value: object) -> _dt.date:
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO date string, got {type(value).__name__} {value!r}")
    try:
        return _dt.date.fromisoformat(value)
    except ValueError:
        raise FormatError(f"not an ISO date (YYYY-MM-DD): {value!r}") from None


def fmt_date(value: object) -> str:
    """ISO date to a US-style date: "2026-01-15" -> "Jan 15, 2026" (locale-independent)."""
    d = _date(value)
    return f"{_MONTHS[d.month - 1]} {d.day}, {d.year}"


def fmt_timestamp(value: object) -> str:
    """ISO UTC timestamp to text: "2026-01-16T01:02:03Z" -> "Jan 16, 2026, 01:02 UTC"."""
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO timestamp string, got {type(value).__name__} {value!r}")
    try:
        t = _dt.datetime.fromisoformat(value)
    except ValueError:
        raise FormatError(f"not an ISO timestamp: {value!r}") from None
    if t.tzinfo is None:
        raise FormatError(f"timestamp without a time zone: {value!r}")
    t = t.astimezone(_dt.timezone.utc)
    return f"{fmt_date(t.date())}, {t:%H:%M} UTC"


def fmt_month(value: object) -> str:
    """ISO date to month precision: "2025-12-31" -> "Dec 2025"."""
    d = _date(value)
    return f"{_MONTHS[d.month - 1]} {d.year}"


def fmt_bool(value: object) -> str:
    """True -> "yes", False -> "no"; anything else is an error."""
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, got {value!r}")
    return "yes" if value else "no"


def fmt_label(value: object) -> str:
    """A text value, shown as is (it must be a non-empty string)."""
    if not isinstance(value, str):
        raise TypeError(f"expected text, got {type(value).__name__} {value!r}")
    if not value.strip():
        raise FormatError("empty text")
    return value


def fmt_age(days: object) -> str:
    """Age of a fact: 0 -> "from today", 1 -> "1 day old", 40 -> "40 days old"."""
    n = _finite(days)
    if n != int(n) or n < 0:
        raise FormatError(f"an age is a whole, non-negative number of days, got {days!r}")
    n = int(n)
    return "from today" if n == 0 else f"{n:,} day{'s' if n != 1 else ''} old"


# ---------------------------------------------------------------- unit dispatch

Formatter = Callable[[object], str]

# For each unit: the formats an author may ask for, the first one being the default.
# Spreads in percent units are converted to fractions so "pp"/"bp" mean the same everywhere.
FORMATS: dict[str, dict[str, Formatter]] = {
    "fraction": {
        "pct": fmt_pct,
        "signed_pct": fmt_signed_pct,
        "pp": fmt_pp,
        "bp": fmt_bp,
    },
    "percent": {
        "pct": fmt_percent,
        "signed_pct": lambda v: fmt_percent(v, signed=True),
        "pp": lambda v: _fixed(_finite(v), 1, signed=True) + NBSP + "pp",
        "bp": lambda v: _fixed(_finite(v), 0, signed=True, shift=2) + NBSP + "bp",
        "number": lambda v: fmt_number(v, 2),
    },
    "percent_range": {"pct": fmt_percent_range},
    "price": {"price": fmt_price, "compact": fmt_compact, "int": fmt_int, "number": fmt_number},
    "index": {"number": fmt_number, "int": fmt_int, "price": fmt_price},
    "count": {"compact": fmt_compact, "int": fmt_int, "number": fmt_number},
    "ratio": {"ratio": fmt_ratio, "number": lambda v: fmt_number(v, 2)},
    "multiple": {"ratio": fmt_multiple, "number": fmt_number},
    "sessions": {"int": fmt_int, "compact": fmt_compact},
    "usd_bn": {"usd_bn": fmt_usd_bn},
    "date": {"date": fmt_date, "month": fmt_month},
    "bool": {"bool": fmt_bool},
    "label": {"label": fmt_label},
    "text": {"label": fmt_label},
}
UNITS = frozenset(METRIC_UNITS)
assert set(FORMATS) == UNITS, "every unit has its formats, and only units have them"
FORMAT_NAMES = frozenset(name for table in FORMATS.values() for name in table)


def format_value(value: object, unit: str, fmt: str | None = None) -> str:
    """Format a snapshot value by its unit, or by `fmt` when the unit allows that format."""
    try:
        table = FORMATS[unit]
    except KeyError:
        raise FormatError(f"unknown unit {unit!r}; known units: {', '.join(sorted(UNITS))}") from None
    if fmt is None:
        return next(iter(table.values()))(value)
    try:
        return table[fmt](value)
    except KeyError:
        raise FormatError(
            f"format {fmt!r} does not apply to unit {unit!r}; use one of: {', '.join(table)}"
        ) from None


# A sourced fact's number, per unit: the formatter and the power of ten its display shifts the
# value by (a fraction shows in percent). A fact keeps the precision it was published with.
_FACT_FORMATS: dict[str, tuple[Callable[[object, int], str], int]] = {
    "fraction": (fmt_pct, 2), "percent": (fmt_percent, 0), "usd_bn": (fmt_usd_bn, 0), "multiple": (fmt_multiple, 0),
    "count": (fmt_number, 0), "index": (fmt_number, 0), "price": (fmt_price, 0),
}
_WRITTEN = re.compile(r"^[+-]?(?:\d[\d_]*)?(?:\.(\d*))?$")


def written_decimals(text: str, unit: str) -> int | None:
    """The decimals a fact shows, from its value as the YAML wrote it: "0.61" (fraction) -> 0
    ("61%"), "0.610" -> 1 ("61.0%"), "33" (multiple) -> 0 ("33×"), "2442.74" (price) -> 2.
    None for a unit without a number, or a number not written as plain decimals ("1e3")."""
    match = _WRITTEN.match(str(text).strip())
    if unit not in _FACT_FORMATS or match is None or not any(c.isdigit() for c in str(text)):
        return None
    return max(0, len(match.group(1) or "") - _FACT_FORMATS[unit][1])


def format_fact_value(value: object, unit: str, decimals: int | None = None) -> str:
    """A sourced fact's value with the precision it was published with: `decimals` as shown
    (0.61 with 0 -> "61%"), or, when not given, as many as the value needs (33.0 -> "33×",
    0.0285 -> "2.85%"). A text fact shows as written."""
    if unit not in _FACT_FORMATS:
        return format_value(value, unit)
    func, shift = _FACT_FORMATS[unit]
    if decimals is None:
        decimals = _places(_finite(value), shift)
    if isinstance(decimals, bool) or not isinstance(decimals, int) or decimals < 0:
        raise FormatError(f"decimals must be a whole number from 0, got {decimals!r}")
    return func(value, decimals)


# ---------------------------------------------------------------- claims and watch items


def display_format(metric_key: str) -> str | None:
    """How a claim's or watch item's value reads: a return spread (a difference of fractions) in
    percentage points, anything else in its metric's own format."""
    return "pp" if metric_key.endswith("_spread") else None


# A threshold the author wrote into the site config reads as written: as many decimals as it has
# (no more, no fewer), whole counts in full. Per unit and format: the formatter and the power of
# ten its display shifts the value by (a fraction shows in percent).
_THRESHOLD_FORMATS = {"count": "int", "sessions": "int"}
_EXACT: dict[tuple[str, str], tuple[Callable[[object, int], str], int]] = {
    ("fraction", "pct"): (fmt_pct, 2), ("fraction", "signed_pct"): (fmt_signed_pct, 2), ("fraction", "pp"): (fmt_pp, 2),
    ("percent", "pct"): (fmt_percent, 0), ("index", "number"): (fmt_number, 0), ("index", "price"): (fmt_price, 0),
    ("price", "price"): (fmt_price, 0), ("price", "number"): (fmt_number, 0), ("ratio", "ratio"): (fmt_ratio, 0),
    ("ratio", "number"): (fmt_number, 0), ("multiple", "ratio"): (fmt_multiple, 0),
    ("multiple", "number"): (fmt_number, 0),
}


def _places(value: float, shift: int) -> int:
    """The decimals `value` needs once shifted (0.0325 shifted by 2: 2), at most 4."""
    exponent = Decimal(repr(value)).scaleb(shift).normalize().as_tuple().exponent
    return min(4, max(0, -exponent)) if isinstance(exponent, int) else 0


def format_threshold(value: object, unit: str, fmt: str | None = None) -> str:
    """A configured threshold (or clear level) in its metric's unit, with the decimals it was
    written with: 0.03 (fraction) -> "3%", 0.0325 -> "3.25%", 70 (RSI) -> "70", 4.75 (percent)
    -> "4.75%", 250000 (count) -> "250,000", 0 in "pp" -> "0 pp"."""
    name = fmt or _THRESHOLD_FORMATS.get(unit) or next(iter(FORMATS.get(unit) or {"": None}))
    exact = _EXACT.get((unit, name))
    if exact is None:
        return format_value(value, unit, name or None)
    func, shift = exact
    return func(value, _places(_finite(value), shift))
