"""A printable sheet of a voucher batch: each code large, with its QR code and terms.

Plain HTML styled for A4 paper (print it, or "save as PDF" from any browser); the QR
code holds the code itself, which the portal's voucher field and a NAS login page take.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape

import segno
from sqlalchemy import select
from sqlalchemy.orm import Session

from radius import vouchers

PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>
@page{{size:A4;margin:12mm}}
body{{font:12px/1.4 "Noto Sans CJK SC","PingFang SC",sans-serif;margin:0;padding:8px}}
h1{{font-size:16px;margin:0 0 8px}}
.grid{{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,58mm),1fr));gap:6mm}}
.card{{border:1px dashed #777;border-radius:3mm;padding:4mm;break-inside:avoid;text-align:center}}
.code{{font:bold 18px/1.2 monospace;letter-spacing:1px;margin:2mm 0;white-space:nowrap}}
.card svg{{width:36mm;height:36mm;display:block;margin:2mm auto 0}}
.terms{{color:#333;font-size:10px}}
@media print{{body{{padding:0}}.grid{{grid-template-columns:repeat(3,minmax(0,1fr));gap:5mm}}}}
</style></head><body>
<h1>{title}</h1>
<div class="grid">
{cards}
</div></body></html>
"""

CARD = """<div class="card"><div>罗湖免费WiFi · Luohu Free WiFi</div>{qr}
<div class="code">{code}</div>
<div class="terms">{minutes} 分钟 / min · {devices} 台设备 / device(s)<br>
首次使用后计时 · timed from first use<br>有效期至 · valid until {until}</div></div>"""


@dataclass(frozen=True)
class Printed:
    code: str  # as printed: ABCD-EFGH-JK
    minutes: int
    devices: int
    valid_until: datetime


def render(batch: str, vouchers: list[Printed]) -> str:
    cards = "\n".join(CARD.format(
        qr=_qr(v.code), code=escape(v.code),
        minutes=v.minutes, devices=v.devices,
        until=v.valid_until.date().isoformat()) for v in vouchers)
    return PAGE.format(title=escape(f"上网券 Vouchers · {batch} · {len(vouchers)}"),
                       cards=cards)


def _qr(code: str) -> str:
    """A full QR code (a Micro QR, segno's pick for so short a text, is one many phone
    cameras do not read), sized by the page's CSS: 36 mm printed, the code itself 26 mm."""
    return segno.make(code, error="m", micro=False).svg_inline(omitsize=True)


def of_batch(session: Session, batch: str, unused: bool = True) -> list[Printed]:
    """A batch's codes to print: those never used (else every one), never revoked ones."""
    query = select(vouchers.Voucher).where(vouchers.Voucher.batch == batch,
                                           vouchers.Voucher.revoked_at.is_(None))
    if unused:
        query = query.where(vouchers.Voucher.first_used_at.is_(None))
    return [Printed(vouchers.display(v.code), v.minutes, v.devices, v.valid_until)
            for v in session.scalars(query.order_by(vouchers.Voucher.id))]
