package llamatest

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file serialises JSON the way llama-server does: nlohmann::ordered_json
// dumped by safe_json_to_str, i.e. data.dump(-1, ' ', false,
// error_handler_t::replace). That means: keys in insertion order, no
// whitespace, non-ASCII written raw (ensure_ascii=false), invalid UTF-8
// replaced by U+FFFD, control characters as \b \f \n \r \t or \u00xx
// (lower-case hex), '/' and '<' '>' '&' not escaped, and floating-point numbers
// in nlohmann's to_chars layout: shortest round-trip digits, "1.0" rather than
// "1", exponent form ("1e-05", "1e+16") outside 1e-4 <= |x| < 1e15.

// kv is one member of an ordered object.
type kv struct {
	k string
	v any
}

// object is a JSON object whose members keep their order.
type object []kv

// f32 is a C++ float: llama-server stores most sampling parameters as float
// and widens them to double when dumping (0.8f prints as 0.800000011920929).
type f32 float32

// rawJSON is inserted verbatim.
type rawJSON []byte

// dump returns v serialised as llama-server would.
func dump(v any) []byte {
	var b bytes.Buffer
	encode(&b, v)
	return b.Bytes()
}

func encode(b *bytes.Buffer, v any) {
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case int:
		b.WriteString(strconv.Itoa(v))
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case uint32:
		b.WriteString(strconv.FormatUint(uint64(v), 10))
	case float64:
		b.WriteString(formatFloat(v))
	case f32:
		b.WriteString(formatFloat(float64(v)))
	case string:
		encodeString(b, v)
	case rawJSON:
		b.Write(v)
	case object:
		b.WriteByte('{')
		for i, m := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			encodeString(b, m.k)
			b.WriteByte(':')
			encode(b, m.v)
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			encode(b, e)
		}
		b.WriteByte(']')
	case []int:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(e))
		}
		b.WriteByte(']')
	case []string:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			encodeString(b, e)
		}
		b.WriteByte(']')
	case []object:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			encode(b, e)
		}
		b.WriteByte(']')
	default:
		panic(fmt.Sprintf("llamatest: cannot encode %T", v))
	}
}

// encodeString follows nlohmann::detail::serializer::dump_escaped with
// ensure_ascii=false and error_handler_t::replace.
func encodeString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch c {
			case '"':
				b.WriteString(`\"`)
			case '\\':
				b.WriteString(`\\`)
			case '\b':
				b.WriteString(`\b`)
			case '\f':
				b.WriteString(`\f`)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			case '\t':
				b.WriteString(`\t`)
			default:
				if c < 0x20 {
					fmt.Fprintf(b, `\u%04x`, c)
				} else {
					b.WriteByte(c)
				}
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteString("\ufffd")
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	b.WriteByte('"')
}

// formatFloat mirrors nlohmann::detail::to_chars for double (min_exp = -4,
// max_exp = 15) on top of Go's shortest round-trip digits.
func formatFloat(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "null"
	}
	if x == 0 {
		if math.Signbit(x) {
			return "-0.0"
		}
		return "0.0"
	}
	sign := ""
	if x < 0 {
		sign = "-"
		x = -x
	}
	// "d.ddddde±XX" -> digits "dddddd", decimal point position n such that
	// x = 0.digits * 10^n.
	e := strconv.FormatFloat(x, 'e', -1, 64)
	mant, exp, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	k := len(digits)
	ex, _ := strconv.Atoi(exp)
	n := ex + 1
	const minExp, maxExp = -4, 15
	switch {
	case k <= n && n <= maxExp:
		return sign + digits + strings.Repeat("0", n-k) + ".0"
	case 0 < n && n <= maxExp:
		return sign + digits[:n] + "." + digits[n:]
	case minExp < n && n <= 0:
		return sign + "0." + strings.Repeat("0", -n) + digits
	}
	var out strings.Builder
	out.WriteString(sign)
	out.WriteByte(digits[0])
	if k > 1 {
		out.WriteByte('.')
		out.WriteString(digits[1:])
	}
	out.WriteByte('e')
	e10 := n - 1
	if e10 < 0 {
		out.WriteByte('-')
		e10 = -e10
	} else {
		out.WriteByte('+')
	}
	if e10 < 10 {
		out.WriteByte('0')
	}
	out.WriteString(strconv.Itoa(e10))
	return out.String()
}
