package main

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// chartFiles is .Files: the chart's files that are neither templates nor chart metadata, keyed by their
// slash-separated path in the chart, as Helm's loader collects them (pkg/chart/loader) less what
// .helmignore excludes. Get, GetBytes and Lines answer as Helm's engine.files does; Glob, AsConfig and
// AsSecrets are not modelled (a template calling them fails to render rather than rendering wrong).
type chartFiles map[string][]byte

// Get is the file's content as a string, or "" when the chart has no such file.
func (f chartFiles) Get(name string) string { return string(f.GetBytes(name)) }

// GetBytes is the file's content, or nil when the chart has no such file.
func (f chartFiles) GetBytes(name string) []byte { return f[name] }

// Lines is the file split on newlines, without the empty string a final newline would add.
func (f chartFiles) Lines(name string) []string {
	data := f[name]
	if len(data) == 0 {
		return []string{}
	}
	s := strings.TrimSuffix(string(data), "\n")
	return strings.Split(s, "\n")
}

// loaderOwned are the paths Helm's loader takes for itself: they never appear in .Files.
func loaderOwned(rel string) bool {
	switch rel {
	case "Chart.yaml", "Chart.lock", "values.yaml", "values.schema.json", "requirements.yaml", "requirements.lock":
		return true
	}
	return strings.HasPrefix(rel, "templates/") || strings.HasPrefix(rel, "charts/")
}

func readChartFiles(chartDir string) (chartFiles, error) {
	ignore, err := readHelmignore(filepath.Join(chartDir, ".helmignore"))
	if err != nil {
		return nil, err
	}
	files := chartFiles{}
	err = filepath.Walk(chartDir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(chartDir, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		if ignore.excludes(rel, info.IsDir()) {
			if info.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if info.IsDir() || loaderOwned(rel) {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files[rel] = data
		return nil
	})
	return files, err
}

// helmignore holds the .helmignore rules in the forms Helm documents: `name` and `*.ext` match a base
// name at any depth, `dir/` matches directories only, a pattern with a `/` matches the whole path.
// Negation (`!pattern`) and `**` are refused rather than matched differently from Helm.
type helmignore []string

func readHelmignore(file string) (helmignore, error) {
	data, err := os.ReadFile(file)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rules helmignore
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "!") || strings.Contains(line, "**") {
			return nil, fmt.Errorf("%s: %q: negated and ** patterns are not modelled by helm-render", file, line)
		}
		if _, err := path.Match(strings.TrimSuffix(line, "/"), ""); err != nil {
			return nil, fmt.Errorf("%s: bad pattern %q: %v", file, line, err)
		}
		rules = append(rules, line)
	}
	return rules, nil
}

func (rules helmignore) excludes(rel string, dir bool) bool {
	for _, rule := range rules {
		pattern := strings.TrimSuffix(rule, "/")
		if pattern != rule && !dir {
			continue
		}
		subject := path.Base(rel)
		if strings.Contains(pattern, "/") {
			subject = rel
			pattern = strings.TrimPrefix(pattern, "/")
		}
		if ok, _ := path.Match(pattern, subject); ok {
			return true
		}
	}
	return false
}
