"""The one look of every chart, on screen and in print: white background, DejaVu Sans (what vl-convert
draws with, on every machine this runs on), an Okabe-Ito colour-blind-safe palette, sizes.

spec.enable() registers and turns on this theme and the data transformer; every chart builder calls it, so
no chart depends on what happened to be imported first.
"""

from __future__ import annotations

import altair as alt

FONT = "DejaVu Sans"
WIDTH = 640
PANEL_HEIGHT = 170

# Okabe & Ito (2008): distinguishable with the common colour-vision deficiencies.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
LEVEL_DOMAIN = ["Target", "Minimum"]
LEVEL_DASHES = [[1, 0], [6, 4]]


def opsg_theme() -> alt.theme.ThemeConfig:
    return {
        "config": {
            "background": "white",
            "font": FONT,
            "view": {"stroke": "#BDBDBD", "continuousWidth": WIDTH, "continuousHeight": PANEL_HEIGHT},
            "title": {
                "font": FONT,
                "fontSize": 15,
                "fontWeight": "bold",
                "anchor": "start",
                "subtitleFontSize": 11,
                "subtitleColor": "#444444",
            },
            "axis": {
                "labelFont": FONT,
                "titleFont": FONT,
                "labelFontSize": 11,
                "titleFontSize": 11,
                "gridColor": "#E6E6E6",
                "domainColor": "#777777",
                "tickColor": "#777777",
            },
            "legend": {
                "labelFont": FONT,
                "titleFont": FONT,
                "labelFontSize": 11,
                "titleFontSize": 11,
                "orient": "top",
                "direction": "horizontal",
            },
            "header": {"labelFont": FONT, "titleFont": FONT, "labelFontSize": 12},
            "text": {"font": FONT, "fontSize": 11},
            "range": {"category": OKABE_ITO},
        }
    }
