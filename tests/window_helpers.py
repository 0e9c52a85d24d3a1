"""Widgets shown the way the console shows them, for pytest-qt tests (UI thread)."""

from __future__ import annotations


def shown_grid(qtbot, width: int, height: int):  # noqa: ANN001, ANN201 - pytest-qt's qtbot
    """A live FeatureGrid in the console's style, shown at `width` × `height` and exposed."""
    from widgets import theme
    from widgets.live import FeatureGrid

    grid = FeatureGrid()
    grid.setStyleSheet(theme.STYLE)
    qtbot.addWidget(grid)
    grid.resize(width, height)
    grid.show()
    qtbot.waitExposed(grid)
    return grid
