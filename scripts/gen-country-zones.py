#!/usr/bin/env python3
"""Writes domain/src/quiet_hours/country_zones.rs: each country whose
clocks all read the same (by the IANA database's zone.tab) with its zone.

Quiet hours are kept in a recipient's local time where their number's
country has one time zone. zone.tab lists some countries with several
zones that have read the same for decades (Germany's Europe/Busingen);
those count as one, checked hour by hour over the years ahead. Run it
again when the IANA database changes: python3 scripts/gen-country-zones.py
"""
import datetime
import pathlib
import zoneinfo

ROOT = pathlib.Path(__file__).resolve().parent.parent
TAB = pathlib.Path("/usr/share/zoneinfo/zone.tab")
VERSION = pathlib.Path("/usr/share/zoneinfo/tzdata.zi").read_text().splitlines()[0].split()[-1]
START = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
HOURS = 24 * 366 * 4

zones = {}
for line in TAB.read_text().splitlines():
    if line.startswith("#") or not line.strip():
        continue
    country, _coordinates, zone = line.split("\t")[:3]
    zones.setdefault(country, []).append(zone)


def clock(zone):
    tz = zoneinfo.ZoneInfo(zone)
    return [
        (START + datetime.timedelta(hours=h)).astimezone(tz).utcoffset()
        for h in range(0, HOURS)
    ]


single = {}
for country, names in sorted(zones.items()):
    if len(names) == 1 or all(clock(n) == clock(names[0]) for n in names[1:]):
        single[country] = names[0]

rows = "\n".join(f'    ("{c}", "{z}"),' for c, z in sorted(single.items()))
out = ROOT / "domain/src/quiet_hours/country_zones.rs"
out.write_text(f"""//! Written by scripts/gen-country-zones.py from the IANA database {VERSION}:
//! do not edit. Countries (ISO 3166 alpha-2) whose clocks all read the same
//! from 2026 to 2029, with their zone, sorted for a binary search.
//! Countries missing here have several time zones.

pub const COUNTRY_ZONES: &[(&str, &str)] = &[
{rows}
];
""")
print(f"{len(single)} of {len(zones)} countries have one time zone; wrote {out.relative_to(ROOT)}")
