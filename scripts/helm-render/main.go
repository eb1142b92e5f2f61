// helm-render renders a Helm chart the way `helm template` / `helm install --dry-run` does, for tests on
// machines without a helm binary. It uses the engine Helm uses: Go's text/template with the Sprig
// function map, plus Helm's own functions (include, tpl, required, fail, toYaml, fromYaml, toJson,
// fromJson, lookup), .Files (Get, GetBytes, Lines), Helm's values coalescing, values.schema.json
// validation (gojsonschema, as Helm 3 before 3.18), "<no value>" removal and Helm's kind install order.
//
// Usage:
//
//	helm-render --chart DIR [--name NAME] [--namespace NS] [-f values.yaml ...] [--lookup objects.yaml]
//	            [--include-crds] [--notes] [--is-upgrade] [--fake-random] [--api-versions G/V ...]
//
// --lookup gives the objects `lookup` finds (multi-document YAML), standing in for a cluster.
// --fake-random makes rand* functions deterministic, for golden files only.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

type options struct {
	chartDir    string
	name        string
	namespace   string
	valueFiles  multiFlag
	lookupFile  string
	includeCRDs bool
	notes       bool
	isUpgrade   bool
	fakeRandom  bool
	apiVersions multiFlag
	kubeVersion string
}

func main() {
	var o options
	flag.StringVar(&o.chartDir, "chart", "", "chart directory")
	flag.StringVar(&o.name, "name", "release-name", "release name")
	flag.StringVar(&o.namespace, "namespace", "default", "release namespace")
	flag.Var(&o.valueFiles, "f", "values file (repeatable; later files win)")
	flag.StringVar(&o.lookupFile, "lookup", "", "YAML file of objects that lookup finds")
	flag.BoolVar(&o.includeCRDs, "include-crds", false, "print crds/ first")
	flag.BoolVar(&o.notes, "notes", false, "print the rendered NOTES.txt instead of the manifests")
	flag.BoolVar(&o.isUpgrade, "is-upgrade", false, "render as an upgrade (.Release.IsUpgrade)")
	flag.BoolVar(&o.fakeRandom, "fake-random", false, "deterministic rand* functions (golden files)")
	flag.Var(&o.apiVersions, "api-versions", "extra .Capabilities.APIVersions (repeatable)")
	flag.StringVar(&o.kubeVersion, "kube-version", "v1.30.0", ".Capabilities.KubeVersion")
	flag.Parse()
	if o.chartDir == "" {
		fmt.Fprintln(os.Stderr, "Error: --chart is required")
		os.Exit(2)
	}
	out, err := run(o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		os.Exit(1)
	}
	fmt.Print(out)
}

func run(o options) (string, error) {
	chartMeta, err := readYAMLMap(filepath.Join(o.chartDir, "Chart.yaml"))
	if err != nil {
		return "", err
	}
	chartName, _ := chartMeta["name"].(string)
	values, err := loadValues(o.chartDir, chartName, o.valueFiles)
	if err != nil {
		return "", err
	}
	objects, err := readLookupObjects(o.lookupFile)
	if err != nil {
		return "", err
	}
	eng, err := newEngine(o, chartName, objects)
	if err != nil {
		return "", err
	}
	files, err := readChartFiles(o.chartDir)
	if err != nil {
		return "", err
	}
	top := map[string]interface{}{
		"Values":       values,
		"Chart":        helmChartMeta(chartMeta),
		"Release":      releaseInfo(o),
		"Capabilities": capabilities(o),
		"Files":        files,
	}
	if o.notes {
		notes, err := eng.renderOne(chartName+"/templates/NOTES.txt", top)
		return strings.TrimRight(notes, "\n") + "\n", err
	}
	manifests, err := eng.renderAll(top)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if o.includeCRDs {
		crds, err := readCRDs(o.chartDir, chartName)
		if err != nil {
			return "", err
		}
		for _, m := range crds {
			b.WriteString("---\n# Source: " + m.source + "\n" + m.body + "\n")
		}
	}
	for _, m := range manifests {
		b.WriteString("---\n# Source: " + m.source + "\n" + m.body + "\n")
	}
	return b.String(), nil
}

func releaseInfo(o options) map[string]interface{} {
	revision := 1
	if o.isUpgrade {
		revision = 2
	}
	return map[string]interface{}{
		"Name":      o.name,
		"Namespace": o.namespace,
		"IsInstall": !o.isUpgrade,
		"IsUpgrade": o.isUpgrade,
		"Revision":  revision,
		"Service":   "Helm",
	}
}

// helmChartMeta mirrors chart.Metadata's Go field names (.Chart.Name, .Chart.AppVersion, ...).
func helmChartMeta(meta map[string]interface{}) map[string]interface{} {
	out := map[string]interface{}{}
	for k, v := range meta {
		switch k {
		case "apiVersion":
			out["APIVersion"] = v
		default:
			out[strings.ToUpper(k[:1])+k[1:]] = v
		}
	}
	return out
}

// versionSet is .Capabilities.APIVersions; templates call .Has.
type versionSet []string

func (v versionSet) Has(apiVersion string) bool {
	for _, x := range v {
		if x == apiVersion {
			return true
		}
	}
	return false
}

type kubeVersion struct{ Version, Major, Minor, GitVersion string }

func capabilities(o options) map[string]interface{} {
	v := strings.TrimPrefix(o.kubeVersion, "v")
	parts := strings.SplitN(v, ".", 3)
	minor := ""
	if len(parts) > 1 {
		minor = parts[1]
	}
	base := []string{"v1", "apps/v1", "batch/v1", "policy/v1", "autoscaling/v2", "rbac.authorization.k8s.io/v1",
		"coordination.k8s.io/v1", "discovery.k8s.io/v1", "apiextensions.k8s.io/v1",
		"gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1"}
	return map[string]interface{}{
		"KubeVersion": kubeVersion{Version: "v" + v, Major: parts[0], Minor: minor, GitVersion: "v" + v},
		"APIVersions": versionSet(append(base, o.apiVersions...)),
	}
}
