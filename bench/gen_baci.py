"""Generate a seeded, BACI-shaped yearly CSV (``t,i,j,k,v,q``) for the trade benchmark.

The file looks like a real CEPII BACI year: quoted header, numeric exporter/importer
codes (BACI's, decoded by the project's country table), HS6 codes without leading
zeros, one row per exporter x importer x product (as in BACI: no duplicate keys), ``v`` in thousand USD with up to 3 decimals and a heavy (log-normal) tail,
``q`` quoted and space-padded to 13 characters, ``NA`` for ~3% of quantities, CRLF
line ends. Nothing of the real data is copied: codes and values are random.

Files go to ``bench/.cache/`` (gitignored) and are reused when they already exist.

\b
Examples
--------
    python bench/gen_baci.py                      # 10M rows, ~400 MB
    python bench/gen_baci.py --rows 20000000      # 20M rows
    python bench/gen_baci.py --zip --years 2021,2022,2023   # multi-year release zip
"""

from __future__ import annotations

import argparse
import sys
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench" / ".cache"
CHUNK = 1_000_000
#: In the cached file names: files of an older generator are not reused.
LAYOUT = "u1"


def _codes(n_exporters: int) -> np.ndarray:
    """BACI-style numeric country codes taken from the project's country table."""
    sys.path.insert(0, str(ROOT))
    from cclreview.trade.countries import load_countries

    df = load_countries()
    df = df[(df["kind"] == "country") & (df["baci_code"] != "")]
    codes = sorted({int(c) for c in df["baci_code"]})
    return np.array(codes[:n_exporters], dtype=np.int64)


def _hs6(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct invented HS6 codes spread over chapters 01-97."""
    pool = rng.choice(np.arange(10_000, 980_000), size=n, replace=False)
    return np.sort(pool)


def _fixed3(milli: pa.Array) -> pa.Array:
    """Integer thousandths -> "123.456" strings (vectorised in Arrow)."""
    s = pc.utf8_lpad(pc.cast(milli, pa.string()), width=4, padding="0")
    return pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(s, 0, -3), pc.utf8_slice_codeunits(s, -3, 100), "."
    )


def _chunk_bytes(t: int, i: np.ndarray, j: np.ndarray, k: np.ndarray, rng: np.random.Generator) -> bytes:
    n = len(i)
    v_milli = np.maximum(1, np.round(rng.lognormal(mean=1.0, sigma=2.8, size=n) * 1000)).astype(np.int64)
    q_milli = np.maximum(1, np.round(v_milli * rng.lognormal(-1.0, 1.5, size=n))).astype(np.int64)
    q = _fixed3(pa.array(q_milli))
    q = pc.if_else(pa.array(rng.random(n) < 0.03), pa.scalar("NA"), q)
    q = pc.binary_join_element_wise('"', pc.utf8_lpad(q, width=13, padding=" "), '"', "")
    line = pc.binary_join_element_wise(
        pc.cast(pa.array(np.full(n, t)), pa.string()),
        pc.cast(pa.array(i), pa.string()),
        pc.cast(pa.array(j), pa.string()),
        pc.cast(pa.array(k), pa.string()),
        _fixed3(pa.array(v_milli)),
        q,
        ",",
    )
    line = pc.binary_join_element_wise(line, "\r\n", "")
    # The values buffer of a string array is the concatenation of its strings.
    arr = line.combine_chunks() if isinstance(line, pa.ChunkedArray) else line
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32, count=len(arr) + 1, offset=arr.offset * 4)
    return arr.buffers()[2].to_pybytes()[offsets[0] : offsets[-1]]


def write_year(fh, year: int, rows: int, seed: int, n_exporters: int = 220, n_products: int = 5400) -> None:
    """Write one BACI-shaped year of ``rows`` rows to the binary file handle ``fh``."""
    rng = np.random.default_rng([seed, year])
    countries = _codes(n_exporters)
    products = _hs6(np.random.default_rng(seed), n_products)
    # Zipf-like weights: a few exporters report most flows, as in real BACI.
    weights = 1.0 / np.arange(1, len(countries) + 1) ** 0.8
    per_exporter = rng.multinomial(rows, weights / weights.sum())
    fh.write(b'"t","i","j","k","v","q"\r\n')
    pw = 1.0 / np.arange(1, n_products + 1) ** 0.5
    pw = rng.permutation(pw / pw.sum())
    cw = np.full(len(countries), 1.0 / len(countries))  # partners drawn uniformly
    cdf = np.cumsum(np.outer(cw, pw).ravel())
    cdf /= cdf[-1]
    for exp_code, n in zip(countries, per_exporter, strict=True):
        # As in real BACI, (i, j, k) is unique within a year: draw distinct partner x
        # product pairs (weighted), at most the whole grid.
        m = min(int(n), len(countries) * n_products)
        if m == 0:
            continue
        draw = np.searchsorted(cdf, rng.random(int(m * 1.6) + 64), side="right")
        uniq, first = np.unique(draw, return_index=True)
        pairs = uniq[np.argsort(first)][:m]
        j = countries[pairs // n_products]
        k = products[pairs % n_products]
        order = np.lexsort((k, j))
        j, k = j[order], k[order]
        for start in range(0, len(j), CHUNK):
            sl = slice(start, start + CHUNK)
            fh.write(_chunk_bytes(year, np.full(len(j[sl]), exp_code), j[sl], k[sl], rng))


def generate(rows: int, seed: int = 7, year: int = 2022, out: Path | None = None) -> Path:
    """Write (or reuse) ``bench/.cache/baci_Y{year}_{rows}_s{seed}.csv``."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = out or CACHE / f"baci_Y{year}_{rows}_s{seed}_{LAYOUT}.csv"
    if path.exists():
        return path
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as fh:
        write_year(fh, year, rows, seed)
    tmp.replace(path)
    return path


def generate_zip(rows: int, years: list[int], seed: int = 7) -> Path:
    """Write (or reuse) a release-shaped zip: one CSV per year plus both dictionaries."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"BACI_HS22_V209901_{rows}_{'-'.join(map(str, years))}_{LAYOUT}.zip"
    if path.exists():
        return path
    tmp = path.with_suffix(".tmp")
    sys.path.insert(0, str(ROOT))
    from cclreview.trade.countries import load_countries

    df = load_countries()
    df = df[(df["kind"] == "country") & (df["baci_code"] != "")]
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for year in years:
            with zf.open(f"BACI_HS22_Y{year}_V209901.csv", "w", force_zip64=True) as fh:
                write_year(fh, year, rows, seed)
        lines = ["country_code,country_name,country_iso2,country_iso3"]
        lines += [f'{r.baci_code},"{r.name}",{r.iso2},{r.iso3}' for r in df.itertuples()]
        zf.writestr("country_codes_V209901.csv", "\n".join(lines) + "\n")
        codes = _hs6(np.random.default_rng(seed), 5400)
        zf.writestr(
            "product_codes_HS22_V209901.csv",
            "code,description\n" + "".join(f'{c:06d},"product {c:06d}"\n' for c in codes),
        )
    tmp.replace(path)
    return path


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000_000, help="rows per year (default 10M)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--year", type=int, default=2022)
    ap.add_argument("--zip", action="store_true", help="write a multi-year release zip instead")
    ap.add_argument("--years", default="2021,2022", help="years of the zip (comma separated)")
    args = ap.parse_args(argv)
    if args.zip:
        path = generate_zip(args.rows, [int(y) for y in args.years.split(",")], args.seed)
    else:
        path = generate(args.rows, args.seed, args.year)
    print(f"{path} ({path.stat().st_size / 1e6:.0f} MB)")


if __name__ == "__main__":
    main()
