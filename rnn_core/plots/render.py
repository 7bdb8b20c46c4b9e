"""Figure -> PNG: the last step from a slider to a pixel, and the text that describes a figure.

`png(fig)` draws a figure once with Agg and encodes it. `PixelCache` serves a figure that
is drawn again and again (a widget's): it keeps the pixels of the parts whose content did
not change, keyed by what they show, and draws only the rest. Its state is its own, in
plain attributes; nothing is stored on the matplotlib objects. `describe(fig)` writes a
figure's text description (its titles and axis labels) for screen readers and for pages
that cannot show the image.

Sizes: DPI pixels per inch, the size at which JupyterLab shows the PNG (1 image pixel = 1
CSS pixel), so a font of 10 pt is 13.9 px high and its capitals 10.1 px.
"""
import struct
import zlib
from collections import OrderedDict

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg

DPI = 100
# zlib level 1: several times faster than the default 6 on a plot's flat colours, files ~20 % larger.
PNG_COMPRESS_LEVEL = 1


def canvas(fig):
    """The figure's Agg canvas (attached on first use), at the figure's own dpi."""
    return fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)


def encode(agg):
    """PNG bytes (RGB, opaque) of what an Agg canvas holds now.

    Written here rather than by PIL: rows unfiltered and zlib at level 1 encode a plot's
    flat colours in about 60 % of the time of PIL's adaptive filters at its fastest level,
    to files of the same size (tests/test_widgets.py decodes it and compares the pixels).
    """
    w, h = agg.get_width_height()
    rgb = np.asarray(agg.buffer_rgba())[:, :, :3].reshape(h, 3 * w)
    rows = np.zeros((h, 3 * w + 1), np.uint8)          # a leading 0 per row: filter "None"
    rows[:, 1:] = rgb
    return (_PNG_SIGNATURE + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + _chunk(b"IDAT", zlib.compress(rows.tobytes(), PNG_COMPRESS_LEVEL))
            + _chunk(b"IEND", b""))


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind, data):
    """One PNG chunk: length, type, data, CRC-32 of type and data."""
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def png(fig):
    """Draw `fig` in full with Agg and return PNG bytes (opaque RGB, the figure's dpi)."""
    agg = canvas(fig)
    agg.draw()
    return encode(agg)


class PixelCache:
    """Renders one figure again and again, reusing the pixels of parts that did not change.

    `png(fig, static)`: static is None (draw everything) or (key, artists): the artists (whole
    axes, say) whose drawing depends only on `key`. The first time a key is seen the figure
    is drawn in full and the pixels inside those artists' box are kept under the key
    (`size` keys at most, the oldest dropped); when the key comes again only the other
    artists are drawn and the kept pixels are put back. The image equals a full draw
    (tests/test_widgets.py checks it pixel for pixel). If another visible artist reaches
    into the box, nothing is reused for that key. The layout must not depend on the
    data (no tight or constrained layout), since the kept pixels have fixed positions.

    Counters for tests and benchmarks: n_full (full draws), n_reused (partial draws).
    """

    def __init__(self, size=8):
        self.fig = None
        self.agg = None
        self.size = int(size)
        self.regions = OrderedDict()       # key -> (pixel size, saved region, other artists)
        self.n_full = 0
        self.n_reused = 0
        self.unsafe = None               # (artist, box) that last prevented a reuse

    def png(self, fig, static=None):
        """PNG bytes of `fig` as it is now (see the class docstring)."""
        if fig is not self.fig:                  # another figure: nothing kept applies
            self.fig, self.agg = fig, canvas(fig)
            self.regions.clear()
        agg = self.agg
        wh = agg.get_width_height()
        saved = self.regions.get(static[0]) if static is not None else None
        if saved is not None and saved[0] == wh and saved[1] is not None:
            self.regions.move_to_end(static[0])
            renderer = agg.get_renderer()
            renderer.clear()
            fig.patch.draw(renderer)             # the background first, as Figure.draw does
            for artist in sorted(saved[2], key=lambda a: a.get_zorder()):
                artist.draw(renderer)
            for region in saved[1]:
                agg.restore_region(region)
            self.n_reused += 1
            return encode(agg)
        agg.draw()
        self.n_full += 1
        if static is not None:
            self.regions[static[0]] = (wh, *self._save(static[1]))
            while len(self.regions) > self.size:
                self.regions.popitem(last=False)
        return encode(agg)

    def _save(self, artists):
        """(regions, other artists) after a full draw; regions None if reuse is unsafe.

        One saved region per static artist (its tight box, padded for antialiased edges),
        so static artists may sit on both sides of a redrawn one.
        """
        renderer = self.agg.get_renderer()
        boxes = [a.get_tightbbox(renderer) for a in artists]
        boxes = [b.padded(3) for b in boxes if b is not None and b.width > 0]
        others = [a for a in self.fig.get_children() if a not in artists and a is not self.fig.patch]
        for a in others:                     # another artist drawn inside a box: never reuse
            if a.get_visible() and hasattr(a, "get_tightbbox"):
                other = a.get_tightbbox(renderer)
                if other is not None and other.width > 0 and any(b.overlaps(other) for b in boxes):
                    self.unsafe = (a, other)
                    return None, others
        return [self.agg.copy_from_bbox(b) for b in boxes], others


def _texts_of(ax):
    """An axes' title parts and axis labels, in reading order, without empty ones."""
    parts = [ax.get_title(loc) for loc in ("left", "center", "right")]
    parts += [f"x: {ax.get_xlabel()}" if ax.get_xlabel() else "",
              f"y: {ax.get_ylabel()}" if ax.get_ylabel() else ""]
    legend = ax.get_legend()
    if legend is not None:
        parts.append("legend: " + "; ".join(t.get_text() for t in legend.get_texts()))
    return [" ".join(p.split()) for p in parts if p and p.strip()]


def describe(fig):
    """A text description of a figure from its own words: the title, then per panel its
    title, axis labels and legend. Used as alt text and as the text/plain of a display."""
    out = []
    if fig.get_suptitle().strip():
        out.append(" ".join(fig.get_suptitle().split()) + ".")
    for ax in fig.axes:
        if not ax.get_visible() or not ax.axison:
            continue
        texts = _texts_of(ax)
        if ax.get_label() == "<colorbar>":
            ticks = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
            texts = [f"colour bar: {ax.get_ylabel() or ax.get_xlabel()}"
                     + (f", ticks {', '.join(ticks)}" if ticks else "")]
        if texts:
            out.append("; ".join(texts) + ".")
    return "Figure: " + " ".join(out) if out else "Figure (no text)."
