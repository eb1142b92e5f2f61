package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
	"github.com/ghodss/yaml"
)

type engine struct {
	tpl       *template.Template
	chartName string
	templates []string // names of the templates that produce manifests, sorted
}

type manifest struct {
	source, body, kind, name string
}

func newEngine(o options, chartName string, objects []map[string]interface{}) (*engine, error) {
	e := &engine{chartName: chartName}
	t := template.New("gotpl").Option("missingkey=zero")
	funcs := helmFuncs(t, objects, o.fakeRandom)
	t.Funcs(funcs)
	dir := filepath.Join(o.chartDir, "templates")
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(o.chartDir, path)
		name := chartName + "/" + filepath.ToSlash(rel)
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if _, err := t.New(name).Parse(string(data)); err != nil {
			return fmt.Errorf("parse error in %s", strings.TrimPrefix(err.Error(), "template: "))
		}
		base := filepath.Base(path)
		if !strings.HasPrefix(base, "_") && base != "NOTES.txt" {
			e.templates = append(e.templates, name)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(e.templates)
	e.tpl = t
	return e, nil
}

func (e *engine) renderOne(name string, top map[string]interface{}) (string, error) {
	data := map[string]interface{}{}
	for k, v := range top {
		data[k] = v
	}
	data["Template"] = map[string]interface{}{"Name": name, "BasePath": e.chartName + "/templates"}
	var buf bytes.Buffer
	if err := e.tpl.ExecuteTemplate(&buf, name, data); err != nil {
		return "", cleanExecError(err)
	}
	return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
}

func (e *engine) renderAll(top map[string]interface{}) ([]manifest, error) {
	var out []manifest
	for _, name := range e.templates {
		text, err := e.renderOne(name, top)
		if err != nil {
			return nil, err
		}
		for _, doc := range splitDocuments(text) {
			head := struct {
				Kind     string `json:"kind"`
				Metadata struct {
					Name string `json:"name"`
				} `json:"metadata"`
			}{}
			if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
				return nil, fmt.Errorf("YAML parse error on %s: %v", name, err)
			}
			out = append(out, manifest{source: name, body: doc, kind: head.Kind, name: head.Metadata.Name})
		}
	}
	sortByInstallOrder(out)
	return out, nil
}

// cleanExecError strips the template stack the way Helm does for `fail` and `required`.
func cleanExecError(err error) error {
	msg := err.Error()
	if i := strings.LastIndex(msg, "error calling fail: "); i >= 0 {
		return errors.New("execution error: " + msg[i+len("error calling fail: "):])
	}
	if i := strings.LastIndex(msg, "error calling required: "); i >= 0 {
		return errors.New("execution error: " + msg[i+len("error calling required: "):])
	}
	return err
}

// splitDocuments splits on `---` lines and drops documents that hold only comments or whitespace.
func splitDocuments(text string) []string {
	var docs []string
	for _, part := range strings.Split("\n"+text, "\n---") {
		if i := strings.Index(part, "\n"); i >= 0 && !strings.HasPrefix(part, "\n") {
			part = part[i:] // the rest of a `--- # comment` line
		}
		if hasContent(part) {
			docs = append(docs, strings.Trim(part, "\n"))
		}
	}
	return docs
}

func hasContent(doc string) bool {
	for _, line := range strings.Split(doc, "\n") {
		t := strings.TrimSpace(line)
		if t != "" && !strings.HasPrefix(t, "#") {
			return true
		}
	}
	return false
}

// installOrder is Helm's releaseutil.InstallOrder (kinds not listed go last).
var installOrder = []string{"PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange",
	"PodSecurityPolicy", "PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList", "ConfigMap",
	"StorageClass", "PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole",
	"ClusterRoleList", "ClusterRoleBinding", "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding",
	"RoleBindingList", "Service", "DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
	"HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress", "APIService"}

func sortByInstallOrder(ms []manifest) {
	rank := func(kind string) int {
		for i, k := range installOrder {
			if k == kind {
				return i
			}
		}
		return len(installOrder)
	}
	sort.SliceStable(ms, func(i, j int) bool {
		ri, rj := rank(ms[i].kind), rank(ms[j].kind)
		if ri != rj {
			return ri < rj
		}
		if ri == len(installOrder) && ms[i].kind != ms[j].kind {
			return ms[i].kind < ms[j].kind
		}
		return false
	})
}

func readCRDs(chartDir, chartName string) ([]manifest, error) {
	files, err := filepath.Glob(filepath.Join(chartDir, "crds", "*.yaml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []manifest
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for _, doc := range splitDocuments(string(data)) {
			out = append(out, manifest{source: chartName + "/crds/" + filepath.Base(f), body: doc})
		}
	}
	return out, nil
}

// helmFuncs is Sprig minus env/expandenv (Helm removes them) plus Helm's own functions.
func helmFuncs(t *template.Template, objects []map[string]interface{}, fakeRandom bool) template.FuncMap {
	f := sprig.TxtFuncMap()
	delete(f, "env")
	delete(f, "expandenv")
	if fakeRandom {
		rng := rand.New(rand.NewSource(1))
		const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
		f["randAlphaNum"] = func(n int) string {
			b := make([]byte, n)
			for i := range b {
				b[i] = alnum[rng.Intn(len(alnum))]
			}
			return string(b)
		}
	}
	f["toYaml"] = func(v interface{}) string {
		data, err := yaml.Marshal(v)
		if err != nil {
			return ""
		}
		return strings.TrimSuffix(string(data), "\n")
	}
	f["fromYaml"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := yaml.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	f["toJson"] = func(v interface{}) string {
		data, err := json.Marshal(v)
		if err != nil {
			return ""
		}
		return string(data)
	}
	f["fromJson"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	f["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil {
			return v, errors.New(msg)
		}
		if s, ok := v.(string); ok && s == "" {
			return v, errors.New(msg)
		}
		return v, nil
	}
	f["fail"] = func(msg string) (string, error) { return "", errors.New(msg) }
	f["include"] = func(name string, data interface{}) (string, error) {
		var buf bytes.Buffer
		err := t.ExecuteTemplate(&buf, name, data)
		return buf.String(), err
	}
	f["tpl"] = func(text string, data interface{}) (string, error) {
		clone, err := t.Clone()
		if err != nil {
			return "", err
		}
		parsed, err := clone.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		err = parsed.Execute(&buf, data)
		return strings.ReplaceAll(buf.String(), "<no value>", ""), err
	}
	f["lookup"] = func(apiVersion, kind, namespace, name string) (map[string]interface{}, error) {
		return lookup(objects, apiVersion, kind, namespace, name), nil
	}
	return f
}

// lookup answers as Helm's does: the object, a {items: [...]} list when name is empty, or an empty map.
func lookup(objects []map[string]interface{}, apiVersion, kind, namespace, name string) map[string]interface{} {
	var items []interface{}
	for _, obj := range objects {
		meta, _ := obj["metadata"].(map[string]interface{})
		if obj["apiVersion"] != apiVersion || obj["kind"] != kind || meta == nil {
			continue
		}
		if namespace != "" && meta["namespace"] != namespace {
			continue
		}
		if name == "" {
			items = append(items, obj)
		} else if meta["name"] == name {
			return obj
		}
	}
	if name == "" {
		return map[string]interface{}{"apiVersion": apiVersion, "kind": kind + "List", "items": items}
	}
	return map[string]interface{}{}
}
