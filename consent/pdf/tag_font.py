"""The font that draws a fillable PDF's e-signature anchor tags (:mod:`consent.pdf.fields`): the shipped
Noto Sans, cut to printable ASCII and embedded.

The tags (``\\s1\\``, ``{{Sig1_es_:signer1:signature}}``) are text: DocuSign and Acrobat Sign find them
by reading the PDF's text. They were drawn in the standard Helvetica, which a PDF names but does not
hold; PDF/UA-1 (ISO 14289-1, 7.21.4.1) requires the font of all text drawn, artifacts included, to be
embedded. So they are drawn in a subset of the Noto Sans that ships in ``templates/fonts/`` (the
built-in one, whatever a pack's stylesheet uses: the tags are white, for the service, not the reader):

- a simple TrueType font with ``/WinAnsiEncoding`` (ASCII maps to itself, so the text extracts as
  written, with no ToUnicode map), its glyphs for the 95 printable ASCII characters and ``.notdef``;
- its subset tag (``ABCDEF+``) made, as :func:`consent.pdf.finish.subset_tag` makes WeasyPrint's, from
  the program itself; the program is cut once per process and is the same bytes every time (no
  timestamp is written), so a form made again is the same file.
"""

from __future__ import annotations

import functools
import io
from typing import Any

import attrs

from ..library.loader import builtin_root
from .finish import subset_tag

FIRST, LAST = 32, 126  # printable ASCII: every character a tag is made of
NAME = b"NotoSans-Regular"


@attrs.frozen
class TagFont:
    program: bytes  # the TrueType subset (FontFile2)
    base_font: str  # "ABCDEF+NotoSans-Regular"
    widths: tuple[int, ...]  # per character FIRST..LAST, in thousandths of the type size
    bbox: tuple[int, int, int, int]
    ascent: int
    descent: int
    cap_height: int

    def width(self, text: str, size: float) -> float:
        """The width of ``text`` (printable ASCII) at ``size`` points, unscaled."""
        return sum(self.widths[ord(ch) - FIRST] for ch in text) * size / 1000


@functools.lru_cache(maxsize=1)
def tag_font() -> TagFont:
    """The subset, cut from the shipped Noto Sans."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(builtin_root() / "templates" / "fonts" / "NotoSans-Regular.ttf", recalcTimestamp=False)
    options = subset.Options()
    options.layout_features = []  # no shaping tables: a PDF's simple font draws glyph by glyph
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 13, 14]  # copyright, names, version, the licence (SIL OFL)
    options.notdef_outline = True
    options.hinting = False
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=range(FIRST, LAST + 1))
    subsetter.subset(font)
    out = io.BytesIO()
    font.save(out)
    program = out.getvalue()
    scale = 1000 / font["head"].unitsPerEm
    cmap = font.getBestCmap()
    hmtx = font["hmtx"]
    widths = tuple(round(hmtx[cmap[code]][0] * scale) for code in range(FIRST, LAST + 1))
    head = font["head"]
    return TagFont(
        program=program, base_font=(subset_tag(NAME, program) + b"+" + NAME).decode(), widths=widths,
        bbox=tuple(round(v * scale) for v in (head.xMin, head.yMin, head.xMax, head.yMax)),  # type: ignore[arg-type]
        ascent=round(font["hhea"].ascent * scale), descent=round(font["hhea"].descent * scale),
        cap_height=round(font["OS/2"].sCapHeight * scale))


def embed(doc: Any) -> Any:
    """The font dictionary of :func:`tag_font`, made in the pikepdf document ``doc``."""
    import pikepdf

    font = tag_font()
    program = pikepdf.Stream(doc, font.program)
    program.Length1 = len(font.program)
    descriptor = pikepdf.Dictionary(
        Type=pikepdf.Name.FontDescriptor, FontName=pikepdf.Name("/" + font.base_font),
        Flags=32,  # non-symbolic: its characters are in the standard Latin set
        FontBBox=pikepdf.Array(font.bbox), ItalicAngle=0, Ascent=font.ascent, Descent=font.descent,
        CapHeight=font.cap_height, StemV=80, FontFile2=doc.make_indirect(program))
    return doc.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.TrueType, BaseFont=pikepdf.Name("/" + font.base_font),
        FirstChar=FIRST, LastChar=LAST, Widths=pikepdf.Array(font.widths),
        Encoding=pikepdf.Name.WinAnsiEncoding, FontDescriptor=doc.make_indirect(descriptor)))
