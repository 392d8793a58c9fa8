// pinpipe dashboard: polls GET /v1/queries?window=<spec> and /v1/status
// every 2 s and redraws the charts in place (docs/dashboard.md).
// The page shows the newest window of the chosen spec; the trend chart shows
// every window of the spec (or, for "all", the page's own samples of the
// post count).
'use strict';

(function () {
  const REFRESH_MS = 2000;
  const MAX_TREND_POINTS = 120;
  const TOKEN_KEY = 'pinpipe.token';
  // Opaque colours (tests find them in a screenshot); one per chart.
  const COLOURS = {
    blue: '#2563eb', orange: '#ea580c', green: '#16a34a', violet: '#7c3aed',
    teal: '#0d9488', red: '#dc2626',
  };
  const AGE_COLOURS = [COLOURS.blue, COLOURS.orange, COLOURS.green, COLOURS.violet];
  // SPEC 5's age groups in age order (the API sorts them in byte order).
  const AGE_ORDER = ['18-24', '25-35', '36-50', '+50'];
  const numberFormat = new Intl.NumberFormat('en-US');
  const compactFormat = new Intl.NumberFormat('en-US', { notation: 'compact' });

  const body = document.body;
  const banner = document.getElementById('banner');
  const select = document.getElementById('window');
  const updated = document.getElementById('updated');

  let token = readToken();
  let spec = readFragment().get('window') || 'all';
  let samples = []; // [{t, posts}] for the "all" trend
  let lastRecords = null;
  let updates = 0;
  let charts = null;
  let countryNames = []; // full names of the top countries chart's bars
  let timer = null;
  let generation = 0;

  // ---- token and fragment ----

  function readFragment() {
    return new URLSearchParams(location.hash.replace(/^#/, ''));
  }

  // #token=... is moved into sessionStorage (this tab only) and removed from
  // the address bar, so it is not left on screen or in bookmarks. A fragment
  // is never sent to the server, so the token never appears in a log.
  function readToken() {
    const fragment = readFragment();
    let saved = null;
    try {
      if (fragment.has('token')) sessionStorage.setItem(TOKEN_KEY, fragment.get('token'));
      saved = sessionStorage.getItem(TOKEN_KEY);
    } catch (e) {
      saved = fragment.get('token'); // storage disabled: keep it in memory
    }
    if (fragment.has('token')) {
      fragment.delete('token');
      writeFragment(fragment);
    }
    return saved;
  }

  function writeFragment(fragment) {
    const text = fragment.toString();
    history.replaceState(null, '', location.pathname + location.search + (text ? '#' + text : ''));
  }

  // ---- fetching ----

  async function get(path) {
    const headers = {};
    let resp;
    let text;
    if (token) headers.Authorization = 'Bearer ' + token;
    try {
      resp = await fetch(path, { headers: headers, cache: 'no-store' });
      text = await resp.text();
    } catch (e) {
      throw new Error('cannot reach pinpipe at ' + location.host + ' (' + e.message + ')');
    }
    if (resp.status === 401) {
      throw new Error(token
        ? 'the token was refused (401): open this page as /#token=<http.auth.token>'
        : 'this server needs a token (401): open this page as /#token=<http.auth.token>');
    }
    if (!resp.ok) {
      let message = text;
      try { message = JSON.parse(text).message; } catch (e) { /* not JSON: show the text */ }
      throw new Error(path + ': HTTP ' + resp.status + ': ' + message);
    }
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new Error(path + ': not JSON (' + e.message + ')');
    }
  }

  // ---- helpers over the documents ----

  function sumCounts(obj) {
    let sum = 0;
    for (const value of Object.values(obj || {})) {
      sum += typeof value === 'number' ? value : sumCounts(value);
    }
    return sum;
  }

  function rowsOf(win, name) {
    const query = win && win.queries && win.queries[name];
    return query ? query.rows : [];
  }

  function utc(ms, withDate) {
    const iso = new Date(ms).toISOString();
    return withDate ? iso.slice(0, 19).replace('T', ' ') : iso.slice(11, 19);
  }

  // Rows keyed by age group (first column), in age order.
  function byAge(rows) {
    const rank = (g) => (AGE_ORDER.includes(g) ? AGE_ORDER.indexOf(g) : AGE_ORDER.length);
    return rows.slice().sort((a, b) => rank(a[0]) - rank(b[0]));
  }

  // Long country names ("Antarctica (the territory South of 60 deg S)") would
  // squeeze a horizontal bar chart; the tooltip has the whole name.
  function shorten(text) {
    return text.length > 22 ? text.slice(0, 21) + '…' : text;
  }

  function setText(id, value, raw) {
    const el = document.getElementById(id);
    el.textContent = value;
    if (raw !== undefined) el.dataset.value = String(raw);
  }

  function showNumber(id, value) {
    if (value === null || value === undefined) setText(id, '–', '');
    else setText(id, numberFormat.format(value), value);
  }

  // ---- charts ----

  function makeChart(id, type, options) {
    return new Chart(document.getElementById(id + '-chart'), {
      type: type,
      data: { labels: [], datasets: [] },
      options: Object.assign({
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        plugins: { legend: { display: false } },
      }, options || {}),
    });
  }

  function createCharts() {
    Chart.defaults.color = '#1f2937';
    Chart.defaults.font.family = 'system-ui, sans-serif';
    // 15M rather than 15,000,000: value axes stay narrow and readable.
    Chart.defaults.scales.linear.ticks.callback = (value) => compactFormat.format(value);
    return {
      trend: makeChart('trend', 'line', { scales: { y: { beginAtZero: true } } }),
      categories: makeChart('categories', 'bar', { scales: { y: { beginAtZero: true } } }),
      countries: makeChart('countries', 'bar', {
        indexAxis: 'y',
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              title: (items) => items.length ? countryNames[items[0].dataIndex] : '',
              label: (item) => item.dataset.posters[item.dataIndex] + ': ' +
                numberFormat.format(item.raw) + ' followers',
            },
          },
        },
      }),
      years: makeChart('years', 'bar', { scales: { y: { beginAtZero: true } } }),
      ages: makeChart('ages', 'bar', { scales: { y: { beginAtZero: true } } }),
      joined: makeChart('joined', 'bar', {
        plugins: { legend: { display: true } },
        scales: {
          y: { beginAtZero: true, title: { display: true, text: 'users joined' } },
          y2: { beginAtZero: true, position: 'right', grid: { drawOnChartArea: false },
                title: { display: true, text: 'median followers' } },
        },
      }),
      agejoin: makeChart('agejoin', 'line', { plugins: { legend: { display: true } } }),
    };
  }

  // Replaces a chart's data and records what it plots in data-points (the
  // test reads it) and in the canvas's accessible label.
  function draw(name, labels, datasets, summary) {
    const chart = charts[name];
    let points = 0;
    chart.data.labels = labels;
    chart.data.datasets = datasets;
    chart.update('none');
    for (const ds of datasets) points += ds.data.filter((v) => v !== null).length;
    document.getElementById(name).dataset.points = String(points);
    chart.canvas.setAttribute('aria-label', summary || 'no data yet');
  }

  function bars(label, data, colour, extra) {
    return Object.assign({ label: label, data: data, backgroundColor: colour, borderColor: colour }, extra || {});
  }

  function line(label, data, colour, extra) {
    return Object.assign({ label: label, data: data, borderColor: colour, backgroundColor: colour,
                           borderWidth: 2, pointRadius: 3 }, extra || {});
  }

  function drawTrend(doc, posts) {
    const title = document.getElementById('trend-title');
    if (doc.window === 'all') {
      samples.push({ t: Date.now(), posts: posts });
      if (samples.length > MAX_TREND_POINTS) samples.shift();
      title.textContent = 'Joined posts over time (all, sampled every ' + REFRESH_MS / 1000 + ' s)';
      draw('trend', samples.map((s) => utc(s.t)), [line('posts', samples.map((s) => s.posts), COLOURS.blue)],
           'Joined posts over time, now ' + posts);
      return;
    }
    const wins = doc.windows.slice(-MAX_TREND_POINTS);
    const days = new Set(wins.map((w) => utc(w.start_ms, true).slice(0, 10)));
    title.textContent = 'Posts per window (' + doc.window + ', by start time, UTC)';
    draw('trend', wins.map((w) => utc(w.start_ms, days.size > 1)),
         [line('posts', wins.map((w) => w.posts), COLOURS.blue)],
         wins.length + ' windows of ' + doc.window +
         (wins.length ? ', newest ' + wins[wins.length - 1].posts + ' posts' : ''));
  }

  function drawAnswers(win) {
    // category_by_country: how many countries each category leads.
    const leads = new Map();
    for (const [, category] of rowsOf(win, 'category_by_country')) {
      leads.set(category, (leads.get(category) || 0) + 1);
    }
    const cats = [...leads.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    draw('categories', cats.map((c) => c[0]), [bars('countries led', cats.map((c) => c[1]), COLOURS.blue)],
         cats.length ? cats[0][0] + ' leads in ' + cats[0][1] + ' countries' : '');

    // top_user_by_country: the ten countries with the most followed poster.
    const users = rowsOf(win, 'top_user_by_country').slice()
      .sort((a, b) => b[2] - a[2] || (a[0] < b[0] ? -1 : 1)).slice(0, 10);
    countryNames = users.map((r) => r[0]);
    draw('countries', users.map((r) => shorten(r[0])),
         [bars('followers', users.map((r) => r[2]), COLOURS.orange, { posters: users.map((r) => r[1]) })],
         users.length ? users[0][0] + ': ' + users[0][1] + ', ' + users[0][2] + ' followers' : '');

    const years = rowsOf(win, 'category_by_year');
    draw('years', years.map((r) => [String(r[0]), r[1]]),
         [bars('posts in the top category', years.map((r) => r[2]), COLOURS.green)],
         years.map((r) => r[0] + ': ' + r[1] + ' (' + r[2] + ')').join(', '));

    const topCategory = new Map(rowsOf(win, 'category_by_age_group').map((r) => [r[0], r]));
    const medians = byAge(rowsOf(win, 'median_followers_by_age_group'));
    draw('ages', medians.map((r) => {
      const top = topCategory.get(r[0]);
      return top ? [r[0], top[1] + ' (' + top[2] + ')'] : [r[0]];
    }), [bars('median followers', medians.map((r) => r[1]), COLOURS.violet)],
         medians.map((r) => r[0] + ': ' + r[1]).join(', '));

    // users_joined_by_year and median_followers_by_join_year share the years.
    const joined = rowsOf(win, 'users_joined_by_year');
    const medianByYear = new Map(rowsOf(win, 'median_followers_by_join_year').map((r) => [r[0], r[1]]));
    draw('joined', joined.map((r) => String(r[0])), [
      bars('users joined', joined.map((r) => r[1]), COLOURS.teal, { yAxisID: 'y', order: 2 }),
      line('median followers', joined.map((r) => (medianByYear.has(r[0]) ? medianByYear.get(r[0]) : null)),
           COLOURS.red, { type: 'line', yAxisID: 'y2', order: 1 }),
    ], joined.map((r) => r[0] + ': ' + r[1]).join(', '));

    // median_followers_by_age_group_and_join_year: a line per age group.
    const cells = rowsOf(win, 'median_followers_by_age_group_and_join_year');
    const joinYears = [...new Set(cells.map((r) => r[1]))].sort((a, b) => a - b);
    const groups = byAge([...new Set(cells.map((r) => r[0]))].map((g) => [g])).map((r) => r[0]);
    draw('agejoin', joinYears.map(String), groups.map((g, i) => {
      const byYear = new Map(cells.filter((r) => r[0] === g).map((r) => [r[1], r[2]]));
      return line(g, joinYears.map((y) => (byYear.has(y) ? byYear.get(y) : null)),
                  AGE_COLOURS[i % AGE_COLOURS.length], { spanGaps: true });
    }), groups.length + ' age groups over ' + joinYears.length + ' join years');

    const top = rowsOf(win, 'top_country_by_followers')[0];
    setText('s-top-country', top ? top[0] + ' (' + numberFormat.format(top[1]) + ')' : '–', top ? top[0] : '');
  }

  // ---- the window selector ----

  // The specs come from /v1/status ("windows") when the server lists them;
  // otherwise the selector offers "all" and the spec in use.
  function fillSelector(status) {
    const specs = Array.isArray(status.windows) ? status.windows.slice() : ['all'];
    if (!specs.includes(spec)) specs.push(spec);
    const current = [...select.options].map((o) => o.value);
    if (current.join('\n') !== specs.join('\n')) {
      select.replaceChildren(...specs.map((s) => new Option(s, s)));
    }
    select.value = spec;
  }

  select.addEventListener('change', () => {
    const fragment = readFragment();
    spec = select.value;
    samples = [];
    if (spec === 'all') fragment.delete('window'); else fragment.set('window', spec);
    writeFragment(fragment);
    body.dataset.window = spec;
    refreshNow();
  });

  // ---- the loop ----

  function showError(message, isRetrying) {
    banner.textContent = message + (isRetrying ? ' — retrying every ' + REFRESH_MS / 1000 + ' s.' : '.');
    banner.hidden = false;
    body.dataset.state = 'error';
  }

  async function refresh() {
    const asked = spec;
    const [doc, status] = await Promise.all([
      // The trend needs the posts of every window, the charts the answers
      // of the newest only: answering the others would cost the engine a
      // merge of every shard's state per window and query.
      get('/v1/queries?window=' + encodeURIComponent(asked) + '&last=' + MAX_TREND_POINTS + '&answers=1'),
      get('/v1/status'),
    ]);
    if (asked !== spec) return; // the selector changed meanwhile
    if (!Array.isArray(doc.windows)) throw new Error('/v1/queries: no "windows" in the answer');
    const input = doc.input || {};
    const posts = typeof input.posts === 'number' ? input.posts : status.posts;
    const now = Date.now();
    // lag is -1 until the consumer knows a partition's end.
    const lag = typeof status.lag === 'number' && status.lag >= 0 ? status.lag : null;

    fillSelector(status);
    showNumber('s-records', status.records);
    if (lastRecords && status.records >= lastRecords.n) {
      showNumber('s-rate', Math.round((status.records - lastRecords.n) * 1000 / Math.max(now - lastRecords.t, 1)));
    }
    lastRecords = { n: status.records, t: now };
    showNumber('s-posts', posts);
    showNumber('s-rejected', sumCounts(input.rejected));
    showNumber('s-duplicates', sumCounts(input.duplicates));
    showNumber('s-orphans', sumCounts(input.orphans));
    showNumber('s-late', doc.late_posts);
    showNumber('s-lag', lag);
    showNumber('s-partitions', status.assigned_partitions);
    setText('s-watermark', doc.watermark_ms === null ? 'none yet' : utc(doc.watermark_ms, true),
            doc.watermark_ms === null ? '' : doc.watermark_ms);

    drawTrend(doc, posts);
    const newest = doc.windows[doc.windows.length - 1];
    drawAnswers(newest);
    document.getElementById('shown').textContent = !newest
      ? 'No post has fallen into a window of ' + doc.window + ' yet.'
      : newest.start_ms === null
        ? 'Charts: all time, ' + numberFormat.format(newest.posts) + ' posts.'
        : 'Charts: the newest window of ' + doc.window + ', ' + utc(newest.start_ms, true) + ' to ' +
          utc(newest.end_ms, true) + ' UTC (' + (newest.open ? 'open' : 'closed') + '), ' +
          numberFormat.format(newest.posts) + ' posts.';

    updates += 1;
    body.dataset.posts = String(posts);
    body.dataset.windows = String(doc.windows.length);
    body.dataset.updates = String(updates);
    body.dataset.state = 'ok';
    banner.hidden = true;
    updated.textContent = 'Updated ' + new Date(now).toLocaleTimeString();
  }

  // One loop at a time: a refresh started before the selector changed may
  // still be running; only the newest one reports and schedules the next.
  function refreshNow() {
    const mine = ++generation;
    clearTimeout(timer);
    // Nothing to draw while the tab is hidden; the next visible tick catches up.
    const work = document.hidden ? Promise.resolve() : refresh();
    work.catch((e) => {
      if (mine === generation) showError(e.message, true);
    }).finally(() => {
      if (mine === generation) timer = setTimeout(refreshNow, REFRESH_MS);
    });
  }

  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) refreshNow();
  });

  body.dataset.window = spec;
  if (typeof Chart === 'undefined') {
    showError('Chart.js did not load (/assets/chart.min.js): reload the page', false);
    return;
  }
  charts = createCharts();
  refreshNow();
})();
