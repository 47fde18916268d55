"""Every table of the app (app/widgets.table): numbers stay numbers (they sort as numbers, shown with
thousands separators), a missing text is "—", and a cached frame is prepared once."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _page():
    import pandas as pd

    from opsg_metrics.app import widgets

    frame = pd.DataFrame({"Code": ["8F3E", None], "Volume": [1256881, 23134], "Note": ["a", None]})
    widgets.table(frame, hide_index=True)


def test_a_table_keeps_numbers_and_shows_a_dash_for_a_missing_text():
    at = AppTest.from_function(_page).run()
    assert not at.exception
    shown = at.dataframe[0].value
    assert list(shown["Code"]) == ["8F3E", "—"] and list(shown["Note"]) == ["a", "—"]
    assert shown["Volume"].dtype.kind == "i" and list(shown["Volume"]) == [1256881, 23134]


def test_a_cached_frame_is_prepared_once_and_left_as_it_was():
    import pandas as pd

    from opsg_metrics.app import widgets

    frame = pd.DataFrame({"Code": ["8F3E", None], "Volume": [1.5, 2.5]})
    first, numbers = widgets._prepared(frame)
    again, _ = widgets._prepared(frame)
    assert again is first and first is not frame and frame["Code"].isna().sum() == 1  # the original untouched
    assert list(numbers) == ["Volume"]
    plain = pd.DataFrame({"Code": ["8F3E"], "Volume": [1]})
    assert widgets._prepared(plain)[0] is plain  # nothing missing: no copy
