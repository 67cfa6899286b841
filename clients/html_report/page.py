"""The report as one self-contained HTML page: its text, the "what went wrong" table and the charts,
with the plotting script inlined once. Everything taken from the data is escaped; the specs go in as
HTML-safe JSON."""

from __future__ import annotations

import jinja2

from clients.html_report.charts import report_charts
from clients.html_report.model import ReportData
from clients.html_report.problems import delivery_problems
from clients.html_report.vega_script import vega_embed_script

# The "what went wrong" table shows the worst this many (channel, state, reason) lines.
MOST_PROBLEMS = 20

_TEMPLATE = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string("""\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Engage report: {{ data.tenant }}, {{ data.period_start }} to {{ data.period_end }}</title>
<style>
  body { font-family: "Liberation Sans", Arial, sans-serif; margin: 2em; color: #222; max-width: 980px; }
  h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 2em; }
  dl { display: grid; grid-template-columns: max-content auto; gap: .2em 1em; }
  dt { font-weight: bold; } dd { margin: 0; }
  table { border-collapse: collapse; } th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: left; }
  td.count { text-align: right; } .note { color: #666; font-style: italic; }
</style>
</head>
<body>
<h1>Engage report</h1>
<dl>
  <dt>Tenant</dt><dd id="tenant">{{ data.tenant }}</dd>
  <dt>Period</dt>
  <dd id="period">{{ data.period_start }} to {{ data.period_end }} (the bank's time zone;
    by {{ data.granularity }})</dd>
  <dt>Built</dt><dd id="built">{{ data.built_at.strftime("%Y-%m-%d %H:%M:%S %Z") }}</dd>
</dl>
{% for remark in data.remarks %}<p class="note">{{ remark }}</p>
{% endfor %}
<h2>What went wrong</h2>
{% if problems %}
<table id="problems">
<thead><tr><th>channel</th><th>state</th><th>error code</th><th>deliveries</th></tr></thead>
<tbody>
{% for p in problems %}<tr><td>{{ p.channel }}</td><td>{{ p.state }}</td><td>{{ p.reason or "(none given)" }}</td>
  <td class="count">{{ p.deliveries }}</td></tr>
{% endfor %}</tbody>
</table>
{% if more_problems %}<p class="note">and {{ more_problems }} more lines.</p>{% endif %}
{% else %}
<p class="note" id="problems">No delivery failed or was given up in this period.</p>
{% endif %}
{% for chart in charts %}
<h2>{{ chart.title }}</h2>
{% if chart.empty_note %}<p class="note">{{ chart.empty_note }}</p>{% endif %}
<div class="chart" id="{{ chart.chart_id }}"></div>
{% endfor %}
<script>
{{ vega_script | safe }}
</script>
<script>
const charts = {{ specs | tojson }};
Promise.all(charts.map(({id, spec}) => vegaEmbed("#" + id, spec, {renderer: "svg", actions: false})))
  .then(() => { document.body.dataset.chartsDrawn = String(charts.length); })
  .catch((error) => { window.__chartsFailed = true; console.error(error); });
</script>
</body>
</html>
""")


def report_html(data: ReportData) -> str:
    charts = report_charts(data)
    problems = delivery_problems(data.delivery_outcomes)
    return _TEMPLATE.render(data=data, charts=charts, problems=problems[:MOST_PROBLEMS],
                            more_problems=max(0, len(problems) - MOST_PROBLEMS),
                            specs=[{"id": chart.chart_id, "spec": chart.spec} for chart in charts],
                            vega_script=vega_embed_script())
