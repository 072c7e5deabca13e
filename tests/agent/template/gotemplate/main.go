// Renders template cases with Go's own text/template, for tests/agent/test_template_go.py:
// the engine's expected outputs are checked against the language it reimplements.
// The functions below mirror consul-template's (template/funcs.go) signatures; they are
// written for this check only. Input on stdin: {"secrets": {...}, "cases": [{id, template}]};
// output: {id: rendered text | "PARSE-ERROR: ..." | "EXEC-ERROR: ..."}.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"reflect"
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
	return map[string]interface{}{
		"Data": r["data"], "LeaseID": get("lease_id", ""), "LeaseDuration": get("lease_duration", 0),
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
		Secrets map[string]map[string]interface{} `json:"secrets"`
		Cases   []Case                            `json:"cases"`
	}
	dec := json.NewDecoder(os.Stdin)
	if err := dec.Decode(&input); err != nil {
		panic(err)
	}
	secrets = input.Secrets
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
		"join": func(sep string, a []interface{}) string {
			s := []string{}
			for _, x := range a {
				s = append(s, x.(string))
			}
			return strings.Join(s, sep)
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
	}
	out := map[string]string{}
	for _, c := range input.Cases {
		t, err := template.New("t").Option("missingkey=error").Funcs(funcs).Parse(c.Template)
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
