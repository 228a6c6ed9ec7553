export interface ChartSeries {
  name: string
  values: number[]
}

interface Props {
  series: ChartSeries[]
  /** One label per value (the x axis); the first and last are drawn. */
  labels: string[]
  testid?: string
}

// About the width the chart is shown at, so the labels keep their font size.
const WIDTH = 1000
const HEIGHT = 180
const PAD = { left: 44, right: 8, top: 8, bottom: 22 }

/** A plain SVG line chart: one polyline per series, colours from the stylesheet (`.chart-c<i>`). */
export function LineChart({ series, labels, testid }: Props) {
  const count = Math.max(1, ...series.map((s) => s.values.length))
  const max = Math.max(1, ...series.flatMap((s) => s.values))
  const plotWidth = WIDTH - PAD.left - PAD.right
  const plotHeight = HEIGHT - PAD.top - PAD.bottom
  const x = (i: number) => PAD.left + (count === 1 ? plotWidth : (i / (count - 1)) * plotWidth)
  const y = (v: number) => PAD.top + plotHeight - (v / max) * plotHeight
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={`${series.map((s) => s.name).join(', ')} over time`} data-testid={testid}>
        <line class="chart-axis" x1={PAD.left} y1={y(0)} x2={WIDTH - PAD.right} y2={y(0)} />
        <line class="chart-grid" x1={PAD.left} y1={y(max)} x2={WIDTH - PAD.right} y2={y(max)} />
        <text class="chart-label" x={PAD.left - 6} y={y(max) + 4} text-anchor="end">
          {max}
        </text>
        <text class="chart-label" x={PAD.left - 6} y={y(0) + 4} text-anchor="end">
          0
        </text>
        <text class="chart-label" x={PAD.left} y={HEIGHT - 6}>
          {labels[0] ?? ''}
        </text>
        <text class="chart-label" x={WIDTH - PAD.right} y={HEIGHT - 6} text-anchor="end">
          {labels[labels.length - 1] ?? ''}
        </text>
        {series.map((s, i) => (
          <polyline key={s.name} class={`chart-line chart-c${i}`} data-series={s.name} points={s.values.map((v, j) => `${x(j)},${y(v)}`).join(' ')} />
        ))}
      </svg>
      <figcaption class="chart-legend">
        {series.map((s, i) => (
          <span key={s.name} class="chart-legend-item">
            <span class={`chart-swatch chart-c${i}`} />
            {s.name}
          </span>
        ))}
      </figcaption>
    </figure>
  )
}
