"""Checks a report rendered by headless Chromium.

usage: check_report.py DOM.html SCREENSHOT.png

The DOM (after rendering) must hold every chart with its marks; the
screenshot must show them: the page is not blank, and the colours of the
formats the plan uses appear in it.
"""
import re
import sys

from PIL import Image

dom = open(sys.argv[1]).read()
charts = {"precision-map": "rect", "sensitivity": "rect", "pareto": "circle",
          "roofline": "circle", "memory": "rect"}
for chart, mark in charts.items():
    match = re.search(r"<svg id=\"%s\"[^>]*>(.*?)</svg>" % chart, dom, re.S)
    assert match, "chart %s missing" % chart
    marks = len(re.findall("<%s " % mark, match.group(1)))
    assert marks >= 2, "chart %s has %d %s marks" % (chart, marks, mark)
    print("%s: %d %s" % (chart, marks, mark))

image = Image.open(sys.argv[2]).convert("RGB")
colors = image.getcolors(maxcolors=1 << 20)
assert colors and len(colors) > 50, "the screenshot is (nearly) blank"
present = {rgb for _, rgb in colors}
# bf16 and fp8-e4m3, the formats of the default model's plan.
for name, hex_color in (("bf16", "4e79a7"), ("fp8-e4m3", "59a14f")):
    rgb = tuple(int(hex_color[i:i + 2], 16) for i in (0, 2, 4))
    assert rgb in present, "colour of %s not drawn" % name
print("screenshot: %dx%d, %d colours, format colours drawn"
      % (image.width, image.height, len(colors)))
