"""The console's look (ISA-101): calm greys, colour only for what is abnormal.

This module owns every colour, font size and touch-target size of the Qt screens, and the one
style sheet they share. Alarm priority colours are used only for alarms; the drift colour only
for a detector over its threshold. Plain constants, imported by the widgets on the UI thread.
"""

from __future__ import annotations

# Greys: background, panels, lines, text.
BACKGROUND = "#d4d4d4"
PANEL = "#e2e2e2"
PLOT = "#ebebeb"
BORDER = "#a8a8a8"
TEXT = "#1c1c1c"
MUTED = "#555555"
REFERENCE_FILL = "#b4b4b4"
LIVE_LINE = "#262626"
BAND_FILL = "#c4c4c4"

# Abnormal only.
PRIORITY_COLOURS = {
    "urgent": "#d81e1e",
    "high": "#f07800",
    "medium": "#f5d000",
    "low": "#3cc0dc",
}
PRIORITY_TEXT = {"urgent": "#ffffff", "high": "#000000", "medium": "#000000", "low": "#000000"}
DRIFT = "#e8a000"  # a detector over its threshold (badge, tile frame, live line)
DRIFT_LINE = "#b36200"
ERROR = "#b00020"  # a refused command, a failed store: the reason in this colour
SAVED = "#1c1c1c"

WATCH_SCORE = 0.6  # score (value / threshold) from which a feature is "watch"

# Sizes (pixels): readable at 1 m on 1920×1080, usable at 1280×800.
TOUCH = 48
FONT = 16
FONT_SMALL = 13
FONT_VALUE = 21
FONT_TITLE = 18

STYLE = f"""
QWidget {{ background: {BACKGROUND}; color: {TEXT}; font-size: {FONT}px; }}
QFrame#tile, QFrame#panel {{ background: {PANEL}; border: 1px solid {BORDER}; border-radius: 3px; }}
QFrame#tile[drift="true"] {{ border: 3px solid {DRIFT}; }}
QFrame#header {{ background: {PANEL}; border-bottom: 1px solid {BORDER}; }}
QLabel {{ background: transparent; border: none; }}
QLabel#caption {{ color: {MUTED}; font-size: {FONT_SMALL}px; }}
QLabel#value {{ font-size: {FONT_VALUE}px; font-weight: bold; }}
QLabel#title {{ font-size: {FONT_TITLE}px; font-weight: bold; }}
QLabel#status {{ color: {MUTED}; padding: 2px 8px; }}
QLabel#error {{ color: {ERROR}; font-weight: bold; }}
QLabel#saved {{ color: {SAVED}; font-weight: bold; }}
QPushButton {{
    min-height: {TOUCH}px; min-width: {TOUCH}px; padding: 0 14px;
    background: #f2f2f2; border: 1px solid {BORDER}; border-radius: 4px;
}}
QPushButton:checked {{ background: #4a4a4a; color: #ffffff; border-color: #303030; }}
QPushButton:disabled {{ color: #9a9a9a; background: #dcdcdc; }}
QPushButton#escalate {{ font-weight: bold; border: 2px solid #303030; }}
QPushButton#choice {{ font-size: {FONT + 1}px; }}
QLineEdit, QComboBox {{
    min-height: {TOUCH - 4}px; background: #fafafa; border: 1px solid {BORDER}; padding: 0 8px;
}}
QTableView {{
    background: #f4f4f4; alternate-background-color: #ececec; gridline-color: #d0d0d0;
    selection-background-color: #4a4a4a; selection-color: #ffffff; border: 1px solid {BORDER};
}}
QHeaderView::section {{
    background: {PANEL}; color: {MUTED}; border: none; border-bottom: 1px solid {BORDER};
    padding: 4px; font-size: {FONT_SMALL}px;
}}
QTabBar::tab {{
    min-height: {TOUCH}px; padding: 0 16px; background: #e4e4e4; border: 1px solid {BORDER};
    border-bottom: none; margin-right: 2px;
}}
QTabBar::tab:selected {{ background: #f4f4f4; font-weight: bold; }}
QTextBrowser {{ background: #f6f6f6; border: 1px solid {BORDER}; }}
"""


def priority_style(priority: str) -> str:
    """Style sheet fragment for something shown in an alarm priority's colour."""
    return f"background: {PRIORITY_COLOURS[priority]}; color: {PRIORITY_TEXT[priority]};"


def drift_state(score: float) -> str:
    """'drift' when over threshold, 'watch' when near it, '' otherwise."""
    if score >= 1.0:
        return "drift"
    if score >= WATCH_SCORE:
        return "watch"
    return ""
