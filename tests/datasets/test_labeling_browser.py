"""`data label`'s page in headless Chromium against its real server: a person's strokes become the
mask file, "Good fabric" deletes a draft, and the page logs no error."""

from __future__ import annotations

import time

import cv2
import pytest

pytestmark = pytest.mark.slow  # the browser fixture (tests/conftest.py) skips without chromium


def wait_for(condition, timeout: float = 10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("the page did not get there in time")


def current(browser) -> str:
    return browser.execute_script("return state.index >= 0 ? state.items[state.index].stem : ''")


def test_painting_saving_and_clearing_in_the_page_change_the_mask_files(browser, label_server):
    from selenium.webdriver.common.action_chains import ActionChains

    folder, base = label_server
    browser.get_log("browser")  # drop anything logged before this page
    browser.get(base + "/")
    assert wait_for(lambda: current(browser)) == "img_a"  # the first image not yet checked
    assert browser.find_element("id", "count").text == "0 of 3 checked"

    browser.find_element("css selector", '#classes button[data-value="2"]').click()  # stain
    canvas = browser.find_element("id", "canvas")
    box = canvas.rect  # the 40x30 image drawn larger: paint in its middle
    ActionChains(browser).move_to_element_with_offset(canvas, 0, 0).click_and_hold().move_by_offset(
        int(box["width"] * 0.1), 0
    ).release().perform()
    browser.find_element("id", "save").click()
    assert wait_for(lambda: current(browser)) and wait_for(lambda: current(browser) == "img_b")
    mask = cv2.imread(str(folder.root / "masks" / "img_a.png"), cv2.IMREAD_UNCHANGED)
    assert mask is not None and mask.shape == (30, 40)
    assert mask[15, 20] == 2 and set(mask.ravel().tolist()) == {0, 2}  # the stroke, in the class chosen
    assert mask[0, 0] == 0 and mask[29, 39] == 0

    browser.find_element("id", "good").click()  # img_b's draft was a false alarm
    wait_for(lambda: current(browser) == "img_c")
    assert not (folder.root / "masks" / "img_b.png").exists()
    browser.find_element("id", "accept").click()
    wait_for(lambda: browser.find_element("id", "count").text == "3 of 3 checked")
    assert folder.reviewed() == {"img_a", "img_b", "img_c"}
    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == []
