/* The plan map: draws the page's JSON data island (#plan-data) with Leaflet.
 * Every text from the data (CRM names included) reaches the page through textContent,
 * or escaped where Leaflet only takes HTML (the layer control's labels). No eval, no
 * markup built from data. */
(function () {
  "use strict";
  var island = document.getElementById("plan-data");
  var box = document.getElementById("map");
  if (!island || !box || typeof L === "undefined") { return; }
  var data = JSON.parse(island.textContent);

  function escaped(text) {  // for Leaflet APIs that insert HTML strings
    var div = document.createElement("div");
    div.textContent = String(text);
    return div.innerHTML;
  }
  function tip(lines) {
    var div = document.createElement("div");
    lines.forEach(function (line, i) {
      var row = document.createElement(i === 0 ? "strong" : "div");
      row.textContent = line;
      div.appendChild(row);
    });
    return div;
  }
  function swatched(rep, label) {
    return '<span class="sw sw-' + Number(rep.swatch) + '"></span>' + escaped(label);
  }

  var map = L.map(box, { zoomSnap: 0.25 });
  map.fitBounds(data.bounds, { padding: [12, 12] });
  var firstZoom = map.getZoom();
  var view = /^#map=([\d.]+)\/(-?[\d.]+)\/(-?[\d.]+)$/.exec(window.location.hash);  // #map=zoom/lat/lon
  if (view) { map.setView([Number(view[2]), Number(view[3])], Number(view[1])); }
  map.on("moveend", function () {
    var c = map.getCenter();
    history.replaceState(null, "", "#map=" + map.getZoom() + "/" + c.lat.toFixed(4) + "/" + c.lng.toFixed(4));
  });
  L.control.scale({ imperial: true, metric: true }).addTo(map);
  map.attributionControl.addAttribution("States: US Census Bureau · cities: GeoNames");

  // The basemap that needs no tiles: state outlines, then city names.
  var basemap = L.layerGroup();
  data.states.forEach(function (state) {
    L.polygon(state.polygons, {
      color: "#9a9a9a", weight: 1, fillColor: "#fbfbf7", fillOpacity: 1, interactive: false,
      className: "state"
    }).addTo(basemap);
  });
  var cityLevels = [];  // a layer of labels per zoom step: more names as the map zooms in
  data.cities.forEach(function (city) {
    var label = document.createElement("span");
    label.textContent = city.name;
    cityLevels[city.level] = cityLevels[city.level] || L.layerGroup();
    L.marker([city.lat, city.lon], {
      icon: L.divIcon({ className: "city-label", html: label, iconSize: null, iconAnchor: [3, 6] }),
      interactive: false, keyboard: false
    }).addTo(cityLevels[city.level]);
  });
  function showCities() {
    cityLevels.forEach(function (group, level) {
      if (!group) { return; }
      var wanted = map.hasLayer(basemap) && map.getZoom() >= firstZoom + level;
      if (wanted && !map.hasLayer(group)) { group.addTo(map); }
      if (!wanted && map.hasLayer(group)) { group.remove(); }
    });
  }
  map.on("zoomend overlayadd overlayremove", showCities);
  basemap.addTo(map);
  showCities();
  var tiles = L.tileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png", {
    maxZoom: 18, attribution: "© OpenStreetMap contributors"
  });

  // Opportunity: potential per grid square, with its scale as a legend.
  var opportunity = L.layerGroup();
  data.opportunity.forEach(function (cell) {
    L.rectangle([[cell.south, cell.west], [cell.south + data.grid, cell.west + data.grid]], {
      weight: 0, fillColor: data.bands[cell.band].color, fillOpacity: 0.55, className: "opportunity"
    }).bindTooltip(tip([cell.label])).addTo(opportunity);
  });
  var legend = L.control({ position: "bottomright" });
  legend.onAdd = function () {
    var div = L.DomUtil.create("div", "map-legend");
    var title = document.createElement("strong");
    title.textContent = "Potential per " + data.grid + "° square";
    div.appendChild(title);
    data.bands.forEach(function (band) {
      var row = document.createElement("div");
      var chip = document.createElement("span");
      chip.className = "band";
      chip.style.background = band.color;  // CSSOM, not markup: allowed under the CSP
      row.appendChild(chip);
      row.appendChild(document.createTextNode(band.label));
      div.appendChild(row);
    });
    return div;
  };
  map.on("overlayadd", function (e) { if (e.layer === opportunity) { legend.addTo(map); } });
  map.on("overlayremove", function (e) { if (e.layer === opportunity) { legend.remove(); } });

  // Territories: shapes after and before, each rep's accounts and home.
  var after = L.layerGroup(), before = L.layerGroup();
  var groups = {}, repIndex = {}, overlays = {};
  data.reps.forEach(function (rep, i) {
    repIndex[rep.id] = i;
    groups[rep.id] = L.featureGroup();
    if (rep.hull_after.length) {
      L.polygon(rep.hull_after, { color: rep.color, weight: 2, fillOpacity: 0.08, className: "hull hull-after" })
        .bindTooltip(tip([rep.name + "'s territory after the plan"]), { sticky: true }).addTo(after);
    }
    if (rep.hull_before.length) {
      L.polygon(rep.hull_before, {
        color: rep.color, weight: 2, dashArray: "5 5", fill: false, className: "hull hull-before"
      }).bindTooltip(tip([rep.name + "'s territory before the plan"]), { sticky: true }).addTo(before);
    }
    if (rep.home) {
      L.marker(rep.home, {
        icon: L.divIcon({ className: "rep-home sw-" + Number(rep.swatch), html: "⌂", iconSize: [18, 18] }),
        keyboard: false
      }).bindTooltip(tip(["Home of " + rep.name + " (about 1 km)"])).addTo(groups[rep.id]);
    }
  });
  var unassigned = L.featureGroup();
  var marks = data.accounts.map(function (account) {
    var rep = account.rep === null ? null : data.reps[repIndex[account.rep]];
    var marker = L.circleMarker([account.lat, account.lon], {
      radius: account.radius,
      color: account.moved ? "#333" : (rep ? rep.color : "#000"),  // a moved account: a dark ring
      fillColor: rep ? rep.color : "#000",
      weight: account.moved ? 1.5 : 1,
      fillOpacity: 0.75,
      className: "territory " + (rep ? "rep-" + repIndex[account.rep] : "unassigned") + (account.moved ? " moved" : "")
    }).bindTooltip(tip(account.lines));
    var group = rep ? groups[account.rep] : unassigned;
    marker.addTo(group);
    return { account: account, marker: marker, group: group };
  });

  overlays[escaped("Basemap: states and cities")] = basemap;
  overlays[escaped("Map tiles (online)")] = tiles;
  overlays[escaped("Territories after (shapes)")] = after;
  overlays[escaped("Territories before (dashed)")] = before;
  overlays[escaped("Opportunity (potential per area)")] = opportunity;
  after.addTo(map);
  data.reps.forEach(function (rep) {
    overlays[swatched(rep, rep.name)] = groups[rep.id];
    groups[rep.id].addTo(map);
  });
  if (data.accounts.some(function (a) { return a.rep === null; })) {
    overlays[escaped("Unassigned")] = unassigned;
    unassigned.addTo(map);
  }

  // One rep's week of routes, times in the rep's zone.
  if (data.route.length) {
    var routes = L.layerGroup();
    data.route.forEach(function (day) {
      L.polyline(day.path, { color: day.color, weight: 3, opacity: 0.9, className: "route" })
        .bindTooltip(tip([day.label])).addTo(routes);
      day.stops.forEach(function (stop) {
        var number = document.createElement("div");
        number.textContent = String(stop[2]);
        L.marker([stop[0], stop[1]], {
          icon: L.divIcon({ className: "stop-no", html: number, iconSize: [14, 14] }), keyboard: false
        }).bindTooltip(tip([stop[3]])).addTo(routes);
      });
    });
    overlays[escaped(data.route_title)] = routes;
    routes.addTo(map);
  }
  L.control.layers(null, overlays, { collapsed: true }).addTo(map);

  document.body.setAttribute("data-map-ready", String(marks.length));

  // Filters: rep, tier, moved accounts only.
  var repSelect = document.getElementById("f-rep");
  var tierSelect = document.getElementById("f-tier");
  var movedBox = document.getElementById("f-moved");
  var count = document.getElementById("f-count");
  if (!repSelect || !tierSelect || !movedBox) { return; }
  data.reps.forEach(function (rep) { repSelect.appendChild(new Option(rep.name, rep.id)); });
  data.tiers.forEach(function (tier) { tierSelect.appendChild(new Option("tier " + tier, tier)); });
  function applyFilters() {
    var rep = repSelect.value, tier = tierSelect.value, movedOnly = movedBox.checked, shown = 0;
    marks.forEach(function (m) {
      var a = m.account;
      var keep = (!rep || a.rep === rep) && (!tier || a.tier === tier) && (!movedOnly || a.moved);
      if (keep) { shown += 1; if (!m.group.hasLayer(m.marker)) { m.group.addLayer(m.marker); } }
      else if (m.group.hasLayer(m.marker)) { m.group.removeLayer(m.marker); }
    });
    if (count) { count.textContent = shown + " of " + marks.length + " accounts shown"; }
  }
  [repSelect, tierSelect, movedBox].forEach(function (el) { el.addEventListener("change", applyFilters); });
  applyFilters();
}());
