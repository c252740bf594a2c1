// Package browser holds the end-to-end tests of the web face: the whole
// platform on loopback, driven in headless Chromium (chromedp), each page
// checked as a person would meet it and photographed at 375, 768 and
// 1280 pixels wide into screenshots/ (kept out of git).
package browser
