// Renders template cases with Go's own text/template, for tests/agent/test_template_go.py:
// the engine's expected outputs are checked against the language it reimplements.
// The functions below mirror consul-template's (template/funcs.go) signatures; they are
// written for this check only. Input on stdin: {"secrets": {...}, "cases": [{id, template}],
// "use_number": bool}; output: {id: rendered text | "PARSE-ERROR: ..." | "EXEC-ERROR: ..."}.
// With use_number the secrets are decoded as Vault's Go client does (json.Number), and the
// main template is named "" as consul-template names it.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"text/template"
)

type Case struct {
	ID       string `json:"id"`
	Template string `json:"template"`
}

var secrets map[string]map[string]interface{}

func view(r map[string]interface{}) map[string]interface{} {
	get := func(k string, d interface{}) interface{} {
		if v, ok := r[k]; ok && v != nil {
			return v
		}
		return d
	}
	duration := get("lease_duration", 0)
	if n, ok := duration.(json.Number); ok {
		duration, _ = n.Int64() // consul-template's Secret.LeaseDuration is an int
		duration = int(duration.(int64))
	}
	return map[string]interface{}{
		"Data": r["data"], "LeaseID": get("lease_id", ""), "LeaseDuration": duration,
		"Renewable": get("renewable", false), "RequestID": get("request_id", ""), "Warnings": []string{},
	}
}

func in(l, v interface{}) (bool, error) {
	lv := reflect.ValueOf(l)
	vv := reflect.ValueOf(v)
	switch lv.Kind() {
	case reflect.Array, reflect.Slice:
		for i := 0; i < lv.Len(); i++ {
			lvv := reflect.ValueOf(lv.Index(i).Interface())
			switch lvv.Kind() {
			case reflect.Int, reflect.Int64:
				switch vv.Kind() {
				case reflect.Int, reflect.Int64:
					if vv.Int() == lvv.Int() {
						return true, nil
					}
				}
			case reflect.Float64:
				switch vv.Kind() {
				case reflect.Float64:
					if vv.Float() == lvv.Float() {
						return true, nil
					}
				}
			case reflect.String:
				if vv.Type() == lvv.Type() && vv.String() == lvv.String() {
					return true, nil
				}
			}
		}
	case reflect.String:
		if vv.Type() == lv.Type() && strings.Contains(lv.String(), vv.String()) {
			return true, nil
		}
	}
	return false, nil
}

func main() {
	var input struct {
		Secrets   json.RawMessage `json:"secrets"`
		Cases     []Case          `json:"cases"`
		UseNumber bool            `json:"use_number"`
	}
	dec := json.NewDecoder(os.Stdin)
	if err := dec.Decode(&input); err != nil {
		panic(err)
	}
	secretsDecoder := json.NewDecoder(bytes.NewReader(input.Secrets))
	if input.UseNumber {
		secretsDecoder.UseNumber()
	}
	if err := secretsDecoder.Decode(&secrets); err != nil {
		panic(err)
	}
	name := "t"
	if input.UseNumber {
		name = ""
	}
	env := map[string]string{"HOME": "/home/app", "EMPTY": "", "STAGE": "prod"}
	funcs := template.FuncMap{
		"secret": func(p string, args ...string) (interface{}, error) {
			if len(args) > 0 {
				a := []interface{}{}
				for _, x := range args {
					a = append(a, x)
				}
				return view(map[string]interface{}{"data": map[string]interface{}{"path": p, "args": a}, "lease_id": "w/1"}), nil
			}
			return view(secrets[p]), nil
		},
		"env":        func(k string) string { return env[k] },
		"toUpper":    strings.ToUpper,
		"toLower":    strings.ToLower,
		"trimSpace":  strings.TrimSpace,
		"replaceAll": func(f, t, s string) string { return strings.Replace(s, f, t, -1) },
		"split": func(sep, s string) []string {
			s = strings.TrimSpace(s)
			if s == "" {
				return []string{}
			}
			return strings.Split(s, sep)
		},
		// consul-template's join takes a []string; the engine also joins a list of
		// strings from the secret data (a JSON []interface {} of strings)
		"join": func(sep string, a interface{}) (string, error) {
			switch list := a.(type) {
			case nil:
				return "", nil
			case []string:
				return strings.Join(list, sep), nil
			case []interface{}:
				s := []string{}
				for _, x := range list {
					str, ok := x.(string)
					if !ok {
						return "", fmt.Errorf("not a list of strings")
					}
					s = append(s, str)
				}
				return strings.Join(s, sep), nil
			}
			return "", fmt.Errorf("not a list of strings")
		},
		"contains":        func(v, l interface{}) (bool, error) { return in(l, v) },
		"in":              in,
		"hasPrefix":       func(p, s string) bool { return strings.HasPrefix(s, p) },
		"hasSuffix":       func(p, s string) bool { return strings.HasSuffix(s, p) },
		"base64Encode":    func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
		"base64Decode":    func(s string) (string, error) { v, err := base64.StdEncoding.DecodeString(s); return string(v), err },
		"base64URLEncode": func(s string) string { return base64.URLEncoding.EncodeToString([]byte(s)) },
		"base64URLDecode": func(s string) (string, error) { v, err := base64.URLEncoding.DecodeString(s); return string(v), err },
		"toJSON":          func(i interface{}) (string, error) { r, err := json.Marshal(i); return string(bytes.TrimSpace(r)), err },
		"toJSONPretty": func(m map[string]interface{}) (string, error) {
			r, err := json.MarshalIndent(m, "", "  ")
			return string(bytes.TrimSpace(r)), err
		},
		"toTitle": strings.Title,
		"indent": func(spaces int, s string) (string, error) {
			if spaces < 0 {
				return "", fmt.Errorf("indent value must be a positive integer")
			}
			var output []byte
			prefix := []byte(strings.Repeat(" ", spaces))
			sp := true
			for _, c := range []byte(s) {
				if sp && c != '\n' {
					output = append(output, prefix...)
				}
				output = append(output, c)
				sp = c == '\n'
			}
			return string(output), nil
		},
		"parseBool": func(s string) (bool, error) {
			if s == "" {
				return false, nil
			}
			return strconv.ParseBool(s)
		},
		"parseFloat": func(s string) (float64, error) {
			if s == "" {
				return 0.0, nil
			}
			return strconv.ParseFloat(s, 10)
		},
		"parseInt": func(s string) (int64, error) {
			if s == "" {
				return 0, nil
			}
			return strconv.ParseInt(s, 10, 64)
		},
		"parseJSON": func(s string) (interface{}, error) {
			if s == "" {
				return map[string]interface{}{}, nil
			}
			var data interface{}
			if err := json.Unmarshal([]byte(s), &data); err != nil {
				return nil, err
			}
			return data, nil
		},
		"sha256Hex": func(item string) (string, error) {
			h := sha256.Sum256([]byte(item))
			return hex.EncodeToString(h[:]), nil
		},
		"executeTemplate": func(string, ...interface{}) (string, error) { return "", nil },
	}
	out := map[string]string{}
	for _, c := range input.Cases {
		t := template.New(name).Option("missingkey=error").Funcs(funcs)
		// consul-template's executeTemplate renders a template of the same set
		t.Funcs(template.FuncMap{"executeTemplate": func(s string, data ...interface{}) (string, error) {
			var dot interface{}
			switch len(data) {
			case 0:
				dot = nil
			case 1:
				dot = data[0]
			default:
				return "", fmt.Errorf("executeTemplate: wrong number of arguments, expected 1 or 2"+
					", but got %d", len(data)+1)
			}
			var b bytes.Buffer
			if err := t.ExecuteTemplate(&b, s, dot); err != nil {
				return "", err
			}
			return b.String(), nil
		}})
		t, err := t.Parse(c.Template)
		if err != nil {
			out[c.ID] = "PARSE-ERROR: " + err.Error()
			continue
		}
		var b bytes.Buffer
		if err := t.Execute(&b, nil); err != nil {
			out[c.ID] = "EXEC-ERROR: " + err.Error()
			continue
		}
		out[c.ID] = b.String()
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	enc.Encode(out)
}
