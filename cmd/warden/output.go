package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"gopkg.in/yaml.v3"
)

// As yc does, JSON and YAML use the proto field names (snake_case).
var marshalOptions = protojson.MarshalOptions{UseProtoNames: true}

// column is one column of a list printed as a text table.
type column[T any] struct {
	header string
	value  func(T) string
}

// printOne prints a resource: YAML for text (as yc does), or the format
// asked for.
func (a *app) printOne(m proto.Message) error {
	raw, err := marshalOptions.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	return a.printJSON(raw)
}

// printList prints resources as a table for text, or as an array.
func printList[T proto.Message](a *app, items []T, cols []column[T]) error {
	if a.flags.format == "text" {
		rows := make([][]string, len(items))
		for i, it := range items {
			for _, c := range cols {
				rows[i] = append(rows[i], c.value(it))
			}
		}
		headers := make([]string, len(cols))
		for i, c := range cols {
			headers[i] = c.header
		}
		writeTable(a.env.Stdout, headers, rows)
		return nil
	}
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i, it := range items {
		if i > 0 {
			buf.WriteByte(',')
		}
		raw, err := marshalOptions.Marshal(it)
		if err != nil {
			return fmt.Errorf("encode output: %w", err)
		}
		buf.Write(raw)
	}
	buf.WriteByte(']')
	return a.printJSON(buf.Bytes())
}

// printJSON prints JSON text indented, or converted to YAML for the text
// and yaml formats.
func (a *app) printJSON(raw []byte) error {
	if a.flags.format == "json" {
		var out bytes.Buffer
		if err := json.Indent(&out, raw, "", "  "); err != nil {
			return fmt.Errorf("encode output: %w", err)
		}
		out.WriteByte('\n')
		_, err := a.env.Stdout.Write(out.Bytes())
		return err
	}
	out, err := jsonToYAML(raw)
	if err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	_, err = a.env.Stdout.Write(out)
	return err
}

// jsonToYAML converts JSON to YAML keeping the order of object keys, which
// is the order of the proto fields.
func jsonToYAML(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	node, err := yamlNode(dec)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(node); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func yamlNode(dec *json.Decoder) (*yaml.Node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	scalar := func(tag, v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: v} }
	switch t := tok.(type) {
	case json.Delim:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		if t == '{' {
			n.Kind, n.Tag = yaml.MappingNode, "!!map"
		}
		for dec.More() {
			if n.Kind == yaml.MappingNode {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, scalar("!!str", k.(string)))
			}
			v, err := yamlNode(dec)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, v)
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return nil, err
		}
		if len(n.Content) == 0 {
			n.Style = yaml.FlowStyle
		}
		return n, nil
	case string:
		return scalar("!!str", t), nil
	case json.Number:
		if strings.ContainsAny(t.String(), ".eE") {
			return scalar("!!float", t.String()), nil
		}
		return scalar("!!int", t.String()), nil
	case bool:
		return scalar("!!bool", fmt.Sprint(t)), nil
	default:
		return scalar("!!null", "null"), nil
	}
}

// writeTable prints rows in the boxed layout of yc's list output.
func writeTable(w io.Writer, headers []string, rows [][]string) {
	widths := make([]int, len(headers))
	for i, h := range headers {
		widths[i] = utf8.RuneCountInString(h)
	}
	for _, r := range rows {
		for i, v := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(v))
		}
	}
	var b strings.Builder
	rule := func() {
		for _, n := range widths {
			b.WriteString("+" + strings.Repeat("-", n+2))
		}
		b.WriteString("+\n")
	}
	line := func(cells []string, center bool) {
		for i, v := range cells {
			pad := widths[i] - utf8.RuneCountInString(v)
			left := 0
			if center {
				left = pad / 2
			}
			fmt.Fprintf(&b, "| %s%s%s ", strings.Repeat(" ", left), v, strings.Repeat(" ", pad-left))
		}
		b.WriteString("|\n")
	}
	rule()
	line(headers, true)
	rule()
	for _, r := range rows {
		line(r, false)
	}
	rule()
	io.WriteString(w, b.String())
}

// formatLabels renders labels as k=v pairs sorted by key.
func formatLabels(labels map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		parts = append(parts, k+"="+labels[k])
	}
	return strings.Join(parts, ",")
}

// field is one named string of an object printed in a fixed key order.
type field struct{ name, value string }

// objectJSON is a JSON object of fields, in their order.
func objectJSON(fields []field) []byte {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, f := range fields {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString(quoteJSON(f.name))
		buf.WriteByte(':')
		buf.WriteString(quoteJSON(f.value))
	}
	buf.WriteByte('}')
	return buf.Bytes()
}

// quoteJSON is s as a JSON string.
func quoteJSON(s string) string {
	b, _ := json.Marshal(s) // a string always encodes
	return string(b)
}
