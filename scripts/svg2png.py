"""SVG -> PNG through the system's librsvg and cairo (ctypes), when both are installed.

Used by ``scripts/screenshots``; exits 3 (and converts nothing) when either library is missing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys


class _Rect(ctypes.Structure):
    _fields_ = [("x", ctypes.c_double), ("y", ctypes.c_double), ("width", ctypes.c_double),
                ("height", ctypes.c_double)]


def _libs() -> tuple[ctypes.CDLL, ctypes.CDLL] | None:
    rsvg_name = ctypes.util.find_library("rsvg-2")
    cairo_name = ctypes.util.find_library("cairo")
    if not rsvg_name or not cairo_name:
        return None
    return ctypes.CDLL(rsvg_name), ctypes.CDLL(cairo_name)


def convert(svg: str, png: str, scale: float = 1.0) -> None:
    """Render ``svg`` to ``png``; RuntimeError with the reason when it cannot."""
    libs = _libs()
    if libs is None:
        raise RuntimeError("librsvg or cairo is not installed")
    rsvg, cairo = libs
    rsvg.rsvg_handle_new_from_file.restype = ctypes.c_void_p
    rsvg.rsvg_handle_new_from_file.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    rsvg.rsvg_handle_get_intrinsic_size_in_pixels.argtypes = [
        ctypes.c_void_p, ctypes.POINTER(ctypes.c_double), ctypes.POINTER(ctypes.c_double)]
    rsvg.rsvg_handle_render_document.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.POINTER(_Rect),
                                                 ctypes.c_void_p]
    cairo.cairo_image_surface_create.restype = ctypes.c_void_p
    cairo.cairo_image_surface_create.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    cairo.cairo_create.restype = ctypes.c_void_p
    cairo.cairo_create.argtypes = [ctypes.c_void_p]
    cairo.cairo_surface_write_to_png.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    cairo.cairo_destroy.argtypes = [ctypes.c_void_p]
    cairo.cairo_surface_destroy.argtypes = [ctypes.c_void_p]
    cairo.cairo_scale.argtypes = [ctypes.c_void_p, ctypes.c_double, ctypes.c_double]

    handle = rsvg.rsvg_handle_new_from_file(svg.encode(), None)
    if not handle:
        raise RuntimeError(f"librsvg cannot read {svg}")
    width, height = ctypes.c_double(), ctypes.c_double()
    if not rsvg.rsvg_handle_get_intrinsic_size_in_pixels(handle, ctypes.byref(width), ctypes.byref(height)):
        width.value, height.value = 1000.0, 600.0
    surface = cairo.cairo_image_surface_create(0, int(width.value * scale), int(height.value * scale))  # ARGB32
    cr = cairo.cairo_create(surface)
    cairo.cairo_scale(cr, scale, scale)
    viewport = _Rect(0, 0, width.value, height.value)
    ok = rsvg.rsvg_handle_render_document(handle, cr, ctypes.byref(viewport), None)
    cairo.cairo_surface_write_to_png(surface, png.encode())
    cairo.cairo_destroy(cr)
    cairo.cairo_surface_destroy(surface)
    if not ok:
        raise RuntimeError(f"librsvg could not render {svg}")


def main(argv: list[str]) -> int:
    if _libs() is None:
        print("svg2png: librsvg/cairo not installed; SVG only.", file=sys.stderr)
        return 3
    for svg in argv:
        convert(svg, svg.removesuffix(".svg") + ".png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
