package report_test

import (
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// checkHTML parses a rendered report and checks that it loads nothing from
// outside, runs no script, and follows every chart with a table. It
// returns the data-value of each data-figure.
func checkHTML(t *testing.T, doc string) map[string]string {
	t.Helper()
	root, err := html.Parse(strings.NewReader(doc))
	if err != nil {
		t.Fatalf("HTML does not parse: %v", err)
	}
	figures := map[string]string{}
	external := func(v string) bool {
		v = strings.ToLower(strings.TrimSpace(v))
		return strings.Contains(v, "://") || strings.HasPrefix(v, "//")
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "script", "iframe", "img", "object", "embed", "base":
				t.Errorf("HTML has a <%s> element", n.Data)
			case "link":
				// Only the empty inline icon, which keeps browsers from
				// asking the server for /favicon.ico.
				if attr(n, "rel") != "icon" || attr(n, "href") != "data:," {
					t.Errorf("HTML has a <link> element other than the inline icon")
				}
			case "style":
				if n.FirstChild != nil {
					checkCSS(t, n.FirstChild.Data)
				}
			case "svg":
				var title, desc bool
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					title = title || c.Data == "title"
					desc = desc || c.Data == "desc"
				}
				if !title || !desc {
					t.Errorf("an <svg> lacks its <title> or <desc>")
				}
			}
			var fig, val string
			var hasVal bool
			for _, a := range n.Attr {
				switch k := strings.ToLower(a.Key); {
				case k == "src" || k == "href" || k == "action" || k == "srcset" || k == "poster" || k == "data" || k == "xlink:href":
					if external(a.Val) {
						t.Errorf("<%s %s=%q> loads from outside", n.Data, a.Key, a.Val)
					}
				case k == "style":
					checkCSS(t, a.Val)
				case strings.HasPrefix(k, "on"):
					t.Errorf("<%s %s> is a script", n.Data, a.Key)
				case k == "data-figure":
					fig = a.Val
				case k == "data-value":
					val, hasVal = a.Val, true
				}
				if strings.Contains(strings.ToLower(a.Val), "url(") && strings.Contains(a.Val, "://") {
					t.Errorf("<%s %s=%q> loads from outside", n.Data, a.Key, a.Val)
				}
			}
			if fig != "" {
				if !hasVal {
					t.Errorf("data-figure %q has no data-value", fig)
				}
				if _, dup := figures[fig]; dup {
					t.Errorf("data-figure %q twice", fig)
				}
				figures[fig] = val
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(root)

	// Every chart is followed by a table before the next chart or the end.
	z := html.NewTokenizer(strings.NewReader(doc))
	pending := false
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		name, _ := z.TagName()
		switch {
		case tt == html.EndTagToken && string(name) == "svg":
			pending = true
		case tt == html.StartTagToken && string(name) == "table":
			pending = false
		case tt == html.StartTagToken && string(name) == "svg" && pending:
			t.Error("a chart is not followed by a table before the next chart")
		}
	}
	if pending {
		t.Error("the last chart is not followed by a table")
	}
	return figures
}

// checkCSS rejects CSS that loads anything.
func checkCSS(t *testing.T, css string) {
	t.Helper()
	l := strings.ToLower(css)
	if strings.Contains(l, "@import") || strings.Contains(l, "@font-face") {
		t.Errorf("CSS imports: %.80q", css)
	}
	for rest := l; ; {
		i := strings.Index(rest, "url(")
		if i < 0 {
			break
		}
		rest = rest[i+4:]
		if !strings.HasPrefix(strings.TrimLeft(rest, " '\""), "#") {
			t.Errorf("CSS url( that is not a fragment: %.40q", rest)
		}
	}
}

// attr is the value of n's attribute key, or "".
func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}
