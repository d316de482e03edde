package dashboards

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/statetimeline"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"

	"github.com/steadywatch/steadywatch/config"
	"github.com/steadywatch/steadywatch/contract"
)

// Template variables shared by the dashboards. Queries refer to them as
// $name; the datasource as ${datasource}, the form Grafana substitutes in a
// datasource reference.
const (
	varDatasource = "datasource"
	varHypothesis = "hypothesis"
	varService    = "service"
	varGroup      = "group"
	varWindow     = "window"
	varJob        = "job"
)

// Colours of Grafana's palette used for meanings, not decoration.
const (
	colorGood    = "green"
	colorBad     = "red"
	colorUnsure  = "yellow"
	colorNeutral = "text"
	colorChaos   = "orange"
	colorAbort   = "dark-red"
)

// datasourceRef points panels, queries and annotations at the datasource
// variable, so one generated dashboard works against any Prometheus.
func datasourceRef() common.DataSourceRef {
	return common.DataSourceRef{
		Type: new("prometheus"),
		Uid:  new("${" + varDatasource + "}"),
	}
}

// query is a range query with its legend, of the clusters chosen (see
// inCluster); refIDs are set per panel by withTargets.
func query(expr, legend string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().
		Datasource(datasourceRef()).
		Expr(inCluster(expr)).
		LegendFormat(legend).
		Range()
}

// instantTable is an instant query, of the clusters chosen, whose result a
// table shows one row per series.
func instantTable(expr string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().
		Datasource(datasourceRef()).
		Expr(inCluster(expr)).
		Format(prometheus.PromQueryFormatTable).
		Instant()
}

// refID names queries A, B, … in order, as Grafana does; no panel has
// more than a few.
func refID(i int) string {
	const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	return letters[i : i+1]
}

// targets sets each query's refId and returns them as the builders panels
// take.
func targets(queries ...*prometheus.DataqueryBuilder) []cog.Builder[variants.Dataquery] {
	out := make([]cog.Builder[variants.Dataquery], len(queries))
	for i, q := range queries {
		out[i] = q.RefId(refID(i))
	}
	return out
}

// timeseriesPanel is a line chart of range queries.
func timeseriesPanel(title, description string, queries ...*prometheus.DataqueryBuilder) *timeseries.PanelBuilder {
	return timeseries.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(datasourceRef()).
		Targets(targets(queries...)).
		Legend(common.NewVizLegendOptionsBuilder().
			DisplayMode(common.LegendDisplayModeList).
			Placement(common.LegendPlacementBottom).
			ShowLegend(true)).
		Tooltip(common.NewVizTooltipOptionsBuilder().
			Mode(common.TooltipDisplayModeMulti).
			Sort(common.SortOrderDescending)).
		LineWidth(1).
		FillOpacity(10).
		ShowPoints(common.VisibilityModeNever)
}

// barsPanel is a stacked bar chart of counts per interval.
func barsPanel(title, description string, queries ...*prometheus.DataqueryBuilder) *timeseries.PanelBuilder {
	return timeseriesPanel(title, description, queries...).
		DrawStyle(common.GraphDrawStyleBars).
		FillOpacity(80).
		Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)).
		Decimals(0).
		Min(0)
}

// pointsPanel shows sparse samples, such as the recovery time of incidents
// as they recover, as points rather than lines across the gaps.
func pointsPanel(title, description string, queries ...*prometheus.DataqueryBuilder) *timeseries.PanelBuilder {
	return timeseriesPanel(title, description, queries...).
		ShowPoints(common.VisibilityModeAlways).
		PointSize(6).
		Min(0)
}

// statPanel shows the last value of one query.
func statPanel(title, description string, queries ...*prometheus.DataqueryBuilder) *stat.PanelBuilder {
	return stat.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(datasourceRef()).
		Targets(targets(queries...)).
		ReduceOptions(common.NewReduceDataOptionsBuilder().
			Calcs([]string{"lastNotNull"}).
			Values(false)).
		GraphMode(common.BigValueGraphModeNone).
		ColorMode(common.BigValueColorModeBackground).
		TextMode(common.BigValueTextModeValue).
		JustifyMode(common.BigValueJustifyModeCenter).
		Orientation(common.VizOrientationAuto)
}

// stateTimelinePanel shows coded states over time, one lane per series.
func stateTimelinePanel(title, description string, queries ...*prometheus.DataqueryBuilder) *statetimeline.PanelBuilder {
	return statetimeline.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(datasourceRef()).
		Targets(targets(queries...)).
		ShowValue(common.VisibilityModeNever).
		MergeValues(true).
		RowHeight(0.8).
		FillOpacity(80).
		LineWidth(0).
		Legend(common.NewVizLegendOptionsBuilder().
			DisplayMode(common.LegendDisplayModeList).
			Placement(common.LegendPlacementBottom).
			ShowLegend(true)).
		Tooltip(common.NewVizTooltipOptionsBuilder().
			Mode(common.TooltipDisplayModeSingle).
			Sort(common.SortOrderNone))
}

// tablePanel shows instant queries as rows.
func tablePanel(title, description string, queries ...*prometheus.DataqueryBuilder) *table.PanelBuilder {
	return table.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(datasourceRef()).
		Targets(targets(queries...)).
		ShowHeader(true).
		CellHeight(common.TableCellHeightSm).
		Footer(common.NewTableFooterOptionsBuilder().
			Show(false).
			Reducer([]string{"sum"}).
			CountRows(false))
}

// state is one value of a coded state: what a number stands for.
type state struct {
	value int
	text  string
	color string
}

// stateMappings maps coded values to their names and colours.
func stateMappings(states []state) []dashboard.ValueMapping {
	options := make(map[string]dashboard.ValueMappingResult, len(states))
	for i, s := range states {
		options[strconv.Itoa(s.value)] = dashboard.ValueMappingResult{
			Text:  new(s.text),
			Color: new(s.color),
			Index: new(int32(i)),
		}
	}
	return []dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{
		Type:    dashboard.MappingTypeValueToText,
		Options: options,
	}}}
}

// thresholds builds absolute thresholds: base is the colour below the first
// step.
func thresholds(base string, steps ...dashboard.Threshold) *dashboard.ThresholdsConfigBuilder {
	all := append([]dashboard.Threshold{{Value: nil, Color: base}}, steps...)
	return dashboard.NewThresholdsConfigBuilder().
		Mode(dashboard.ThresholdsModeAbsolute).
		Steps(all)
}

func step(value float64, color string) dashboard.Threshold {
	return dashboard.Threshold{Value: new(value), Color: color}
}

// fixedColor overrides a series' colour, matched by its display name.
func fixedColor(color string) dashboard.DynamicConfigValue {
	return dashboard.DynamicConfigValue{
		Id:    "color",
		Value: map[string]any{"mode": "fixed", "fixedColor": color},
	}
}

// byName matches the series of a display name (a query's legend). It is
// Grafana's byNames matcher rather than byName, whose options are a bare
// string: the SDK's schema wants matcher options to be objects.
func byName(name string) dashboard.MatcherConfig {
	return dashboard.MatcherConfig{
		Id:      "byNames",
		Options: map[string]any{"mode": "include", "names": []string{name}},
	}
}

// Line styles of series that are limits or references rather than
// measurements. Overrides set only object-valued properties, the only ones
// the SDK's schema allows there.
func dashed() dashboard.DynamicConfigValue {
	return dashboard.DynamicConfigValue{Id: "custom.lineStyle", Value: map[string]any{"fill": "dash", "dash": []int{10, 10}}}
}

func dotted() dashboard.DynamicConfigValue {
	return dashboard.DynamicConfigValue{Id: "custom.lineStyle", Value: map[string]any{"fill": "dot", "dash": []int{0, 10}}}
}

// codedStates returns a PromQL expression that is, per group of by, the
// value of the state whose 0/1 series of metric (selected by matchers and
// label=state) is 1. It turns steadywatch's one-series-per-state gauges
// into one number a stat or a state timeline can map to a name and colour.
func codedStates(metric, matchers, label string, by []string, states []state) string {
	parts := make([]string, len(states))
	for i, s := range states {
		parts[i] = fmt.Sprintf("(%s{%s} == 1) * %d", metric, joinMatchers(matchers, label+"="+strconv.Quote(s.text)), s.value)
	}
	return fmt.Sprintf("max by (%s) (\n  %s\n)", strings.Join(by, ", "), strings.Join(parts, "\n  or "))
}

// joinMatchers joins label matchers, skipping empty ones.
func joinMatchers(matchers ...string) string {
	var out []string
	for _, m := range matchers {
		if m != "" {
			out = append(out, m)
		}
	}
	return strings.Join(out, ", ")
}

// eq is a label matcher for an exact value, quoted for PromQL.
func eq(label, value string) string {
	return label + "=" + strconv.Quote(value)
}

// byVariable is a label matcher for a multi-value template variable: Grafana
// expands $name to a regular expression of the values chosen.
func byVariable(label, variable string) string {
	return label + `=~"$` + variable + `"`
}

// mean is the mean of a histogram's observations over a window, by labels:
// its sum's increase over its count's.
func mean(histogram, matchers, window string, by ...string) string {
	agg := "sum"
	if len(by) > 0 {
		agg = "sum by (" + strings.Join(by, ", ") + ") "
	}
	return fmt.Sprintf("%[1]s(rate(%[2]s_sum{%[3]s}[%[4]s]))\n/\n%[1]s(rate(%[2]s_count{%[3]s}[%[4]s]))",
		agg, histogram, matchers, window)
}

// datasourceVariable lets the user pick the Prometheus to query.
func datasourceVariable() *dashboard.DatasourceVariableBuilder {
	return dashboard.NewDatasourceVariableBuilder(varDatasource).
		Label("Data source").
		Type("prometheus")
}

// labelValuesVariable offers the values of a label of a steadywatch metric,
// in the clusters chosen.
func labelValuesVariable(name, label, metric, help string) *dashboard.QueryVariableBuilder {
	if name != varCluster {
		metric += "{" + clusterMatcher + "}"
	}
	q := fmt.Sprintf("label_values(%s, %s)", metric, name)
	return dashboard.NewQueryVariableBuilder(name).
		Label(label).
		Description(help).
		Datasource(datasourceRef()).
		Query(dashboard.StringOrMap{String: new(q)}).
		Definition(q).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortAlphabeticalAsc).
		Multi(true).
		IncludeAll(true).
		AllValue(".*").
		Current(allOption())
}

// customVariable offers fixed values.
func customVariable(name, label, help string, values []string, all bool) *dashboard.CustomVariableBuilder {
	v := dashboard.NewCustomVariableBuilder(name).
		Label(label).
		Description(help).
		Values(dashboard.StringOrMap{String: new(strings.Join(values, ","))})
	if all {
		v = v.Multi(true).IncludeAll(true).AllValue(".*").Current(allOption())
	}
	return v
}

func allOption() dashboard.VariableOption {
	return dashboard.VariableOption{
		Selected: new(true),
		Text:     dashboard.StringOrArrayOfString{ArrayOfString: []string{"All"}},
		Value:    dashboard.StringOrArrayOfString{ArrayOfString: []string{"$__all"}},
	}
}

// serviceVariable offers the services: the configured allow-list (and
// "other", which the rest are exported as), or whatever services the
// watcher has seen.
func serviceVariable(cfg config.Config) cog.Builder[dashboard.VariableModel] {
	const help = "Services, as steadywatch exports them (the watch.service_label of the pods)."
	if len(cfg.Watch.Services) > 0 {
		values := append(append([]string(nil), cfg.Watch.Services...), config.ServiceOther)
		return customVariable(varService, "Service", help, values, true)
	}
	return labelValuesVariable(varService, "Service", contract.ChaosEvents.Name, help)
}

// groupVariable offers the experiment arms.
func groupVariable(groups []string) cog.Builder[dashboard.VariableModel] {
	return customVariable(varGroup, "Group",
		"Experiment arms: control and experimental by the watch.group_label of the pods, none for the rest.",
		groups, true)
}

// chaosAnnotation marks chaos events on every time series. A counter's
// first event creates its series at 1, which increase() cannot see, so a
// series that just appeared counts too.
func chaosAnnotation(matchers string) *dashboard.AnnotationQueryBuilder {
	sel := contract.ChaosEvents.Name + "{" + matchers + "}"
	expr := fmt.Sprintf("sum by (kind, namespace, service, group) (\n  increase(%[1]s[$__rate_interval]) > 0\n  or (%[1]s unless %[1]s offset $__rate_interval)\n)", sel)
	return dashboard.NewAnnotationQueryBuilder().
		Name("Chaos events").
		Datasource(datasourceRef()).
		Enable(true).
		IconColor(colorChaos).
		Expr(inCluster(expr)).
		Step("$__rate_interval").
		TitleFormat("{{kind}}").
		TextFormat("{{service}} ({{group}}) in {{namespace}}").
		TagKeys("kind,service,group,namespace").
		UseValueForTime(false)
}
