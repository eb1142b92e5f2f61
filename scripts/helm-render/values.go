package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ghodss/yaml"
	"github.com/xeipuuv/gojsonschema"
)

// readYAMLMap parses YAML the way Helm does (sigs.k8s.io/yaml, whose ancestor ghodss/yaml this is):
// through JSON, so every number is a float64, exactly as in .Values under helm.
func readYAMLMap(path string) (map[string]interface{}, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]interface{}{}
	if err := yaml.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("failed to parse %s: %v", path, err)
	}
	if out == nil {
		out = map[string]interface{}{}
	}
	return out, nil
}

func loadValues(chartDir, chartName string, files []string) (map[string]interface{}, error) {
	values, err := readYAMLMap(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		user, err := readYAMLMap(f)
		if err != nil {
			return nil, err
		}
		values = coalesce(user, values)
	}
	dropNulls(values)
	schemaPath := filepath.Join(chartDir, "values.schema.json")
	if _, err := os.Stat(schemaPath); err == nil {
		if err := validateValues(schemaPath, chartName, values); err != nil {
			return nil, err
		}
	}
	return values, nil
}

// coalesce merges user values over chart defaults as Helm does: maps merge key by key, anything
// else is replaced, and a user `null` removes the default (dropNulls finishes that).
func coalesce(user, defaults map[string]interface{}) map[string]interface{} {
	out := map[string]interface{}{}
	for k, v := range defaults {
		out[k] = v
	}
	for k, v := range user {
		um, uok := v.(map[string]interface{})
		dm, dok := out[k].(map[string]interface{})
		if uok && dok {
			out[k] = coalesce(um, dm)
		} else {
			out[k] = v
		}
	}
	return out
}

func dropNulls(m map[string]interface{}) {
	for k, v := range m {
		if v == nil {
			delete(m, k)
		} else if sub, ok := v.(map[string]interface{}); ok {
			dropNulls(sub)
		}
	}
}

// validateValues reports every violation in Helm's words, so a test can show what a user would see.
func validateValues(schemaPath, chartName string, values map[string]interface{}) error {
	schema, err := os.ReadFile(schemaPath)
	if err != nil {
		return err
	}
	result, err := gojsonschema.Validate(gojsonschema.NewBytesLoader(schema), gojsonschema.NewGoLoader(values))
	if err != nil {
		return fmt.Errorf("%s: invalid values.schema.json: %v", chartName, err)
	}
	if result.Valid() {
		return nil
	}
	var lines []string
	for _, e := range result.Errors() {
		lines = append(lines, "- "+e.String())
	}
	sort.Strings(lines)
	return fmt.Errorf("values don't meet the specifications of the schema(s) in the following chart(s):\n%s:\n%s",
		chartName, strings.Join(lines, "\n"))
}

// readLookupObjects loads the objects that `lookup` finds, standing in for the cluster.
func readLookupObjects(path string) ([]map[string]interface{}, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []map[string]interface{}
	for _, doc := range splitDocuments(string(data)) {
		obj := map[string]interface{}{}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			return nil, fmt.Errorf("failed to parse %s: %v", path, err)
		}
		if len(obj) > 0 {
			out = append(out, obj)
		}
	}
	return out, nil
}
