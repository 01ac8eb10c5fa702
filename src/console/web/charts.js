/**
 * A chart with its numbers: Chart.js draws it (no animation, so what is drawn is final at once), and a table
 * beside it holds the same figures for screen readers, keyboard users and anyone who wants the exact value.
 */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from 'chart.js';
import { useEffect, useRef } from 'preact/hooks';
import { html } from './ui.js';

Chart.register(
  BarController,
  BarElement,
  CategoryScale,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Legend,
  Tooltip,
);

/** Colour-blind-safe palette (Okabe–Ito). */
export const palette = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00'];

export function ChartFigure({ id, title, type = 'bar', labels, datasets, yTitle, children }) {
  const canvas = useRef(null);
  const signature = JSON.stringify({ type, labels, datasets });
  useEffect(() => {
    const chart = new Chart(canvas.current, {
      type,
      data: {
        labels,
        datasets: datasets.map((d, i) => ({
          backgroundColor: palette[i % palette.length],
          borderColor: palette[i % palette.length],
          ...d,
        })),
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        plugins: { legend: { position: 'bottom' } },
        scales: { y: { beginAtZero: true, title: { display: Boolean(yTitle), text: yTitle } } },
      },
    });
    return () => chart.destroy();
  }, [signature]);
  const empty = labels.length === 0;
  return html`<figure class="chart" aria-labelledby=${`${id}-title`}>
    <figcaption id=${`${id}-title`}>${title}</figcaption>
    ${empty && html`<p class="empty">No data for these filters.</p>`}
    <div class="canvas-box" hidden=${empty}>
      <canvas ref=${canvas} data-chart=${id} role="img" aria-label=${`${title}: chart; the numbers are in the table below`}></canvas>
    </div>
    ${!empty && html`<details><summary>Show the numbers</summary>${children}</details>`}
  </figure>`;
}
