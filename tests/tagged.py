"""Reading a tagged PDF as a screen reader does, for the tests: the structure tree in order, each
element with the text of its marked content (decoded with the fonts' ToUnicode maps), and the text of
the pages that is marked as an artifact. Written here, apart from consent/pdf/tags.py, so that the tests
do not check the package with its own code: pikepdf parses, this module only follows the tree."""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import pikepdf


@dataclass
class Element:
    s: str
    keys: dict[str, Any]
    text: str = ""  # its own marked content's text, in order
    kids: list[Element] = field(default_factory=list)
    objr: list[Any] = field(default_factory=list)  # the object ids of the annotations (widgets) it holds

    def all_text(self) -> str:
        return self.text + "".join(k.all_text() for k in self.kids)

    def walk(self):
        yield self
        for kid in self.kids:
            yield from kid.walk()


_HEX = re.compile(rb"<([0-9A-Fa-f]+)>")


def _to_unicode(font: Any) -> dict[bytes, str]:
    """A font's ToUnicode map: code (bytes) -> text."""
    stream = font.get("/ToUnicode")
    if stream is None:
        return {}
    data = stream.read_bytes()
    out: dict[bytes, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S):
        codes = _HEX.findall(block)
        for src, dst in zip(codes[::2], codes[1::2], strict=False):
            out[bytes.fromhex(src.decode())] = bytes.fromhex(dst.decode()).decode("utf-16-be")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", data, re.S):
        for line in block.strip().splitlines():
            parts = _HEX.findall(line)
            if len(parts) == 3 and b"[" not in line:
                lo, hi, dst = (int(p, 16) for p in parts)
                width = len(parts[0]) // 2
                for n in range(lo, hi + 1):
                    out[n.to_bytes(width, "big")] = chr(dst + n - lo)
    return out


def _decode(raw: bytes, cmap: dict[bytes, str]) -> str:
    width = min((len(k) for k in cmap), default=1)
    return "".join(cmap.get(raw[i:i + width], "") for i in range(0, len(raw), width))


def page_marked_text(page: Any) -> tuple[dict[int, str], str]:
    """A page's text by marked-content id, and the text of its artifacts (joined). Form XObjects painted
    by the page are followed."""
    by_mcid: dict[int, list[str]] = {}
    artifacts: list[str] = []

    def run(content: Any, resources: Any, stack: list[Any]) -> None:
        fonts = resources.get("/Font", {}) if resources is not None else {}
        maps: dict[str, dict[bytes, str]] = {}
        cmap: dict[bytes, str] = {}
        for operands, operator in pikepdf.parse_content_stream(content):
            op = str(operator)
            if op in ("BDC", "BMC"):
                mcid = None
                if op == "BDC" and isinstance(operands[1], pikepdf.Dictionary) and "/MCID" in operands[1]:
                    mcid = int(operands[1].MCID)
                stack.append((str(operands[0]), mcid))
            elif op == "EMC":
                stack.pop()
            elif op == "Tf":
                name = str(operands[0])
                if name not in maps:
                    maps[name] = _to_unicode(fonts[name]) if name in fonts else {}
                cmap = maps[name]
            elif op in ("Tj", "TJ", "'", '"'):
                items = operands[0] if op == "TJ" else [operands[-1]]
                parts = []
                for item in items:
                    if isinstance(item, pikepdf.String):
                        parts.append(_decode(bytes(item), cmap))
                    elif float(item) < -200:
                        parts.append(" ")
                text = "".join(parts)
                if any(tag == "/Artifact" for tag, _ in stack):
                    artifacts.append(text)
                else:
                    mcid = next((m for _, m in reversed(stack) if m is not None), None)
                    by_mcid.setdefault(-1 if mcid is None else mcid, []).append(text)
            elif op == "Do":
                xobject = (resources or {}).get("/XObject", {}).get(str(operands[0]))
                if xobject is not None and xobject.get("/Subtype") == pikepdf.Name.Form:
                    run(xobject, xobject.get("/Resources", resources), stack)

    run(page, page.obj.get("/Resources"), [])
    return {m: " ".join(t) for m, t in by_mcid.items()}, " ".join(artifacts)


def read(pdf: bytes) -> tuple[Element, list[dict[int, str]], list[str]]:
    """The tree's /Document element read, with each page's marked text and artifact text."""
    doc = pikepdf.open(io.BytesIO(pdf))
    pages = {p.objgen: i for i, p in enumerate(doc.pages)}
    marked, artifacts = zip(*(page_marked_text(p) for p in doc.pages), strict=True)
    used: set[tuple[int, int]] = set()

    def read_element(obj: Any, page: int | None) -> Element:
        pg = obj.get("/Pg")
        here = pages[pg.objgen] if pg is not None else page
        keys = {str(k): obj[k] for k in obj.keys() if str(k) not in ("/K", "/P", "/Pg", "/Type")}
        element = Element(str(obj.S), keys)
        kids = obj.get("/K")
        kids = list(kids) if isinstance(kids, pikepdf.Array) else [] if kids is None else [kids]
        texts = []
        for kid in kids:
            if isinstance(kid, int):
                texts.append(marked[here].get(int(kid), ""))
                used.add((here, int(kid)))
            elif isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == pikepdf.Name.MCR:
                p = pages[kid.Pg.objgen] if "/Pg" in kid else here
                texts.append(marked[p].get(int(kid.MCID), ""))
                used.add((p, int(kid.MCID)))
            elif isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == pikepdf.Name.OBJR:
                element.objr.append(kid.Obj.objgen)
            elif isinstance(kid, pikepdf.Dictionary):
                if texts:
                    element.kids.append(Element("#text", {}, "".join(texts)))
                    texts = []
                element.kids.append(read_element(kid, here))
        if texts:
            if element.kids:
                element.kids.append(Element("#text", {}, "".join(texts)))
            else:
                element.text = "".join(texts)
        return element

    root = doc.Root.StructTreeRoot
    top = root.K[0] if isinstance(root.K, pikepdf.Array) else root.K
    tree = read_element(top, None)
    unused = [(p, m) for p, found in enumerate(marked) for m in found if (p, m) not in used and found[m].strip()]
    assert not unused, f"marked content that no structure element holds: {unused[:5]}"
    return tree, list(marked), list(artifacts)


def squash(text: str) -> str:
    """Text without spaces, hyphens, list bullets, box marks and the isolation marks, for comparing orders
    of words."""
    return re.sub(r"[\s\u00ad\u2068\u2069\u200b•☐☒-]", "", unicodedata.normalize("NFKC", text))
