/* Optional map on idea pages: a point picker on the submit/edit form, a marker on the idea page.
   Progressive enhancement only: without JavaScript, Leaflet or map tiles the page works as is (the
   address is what counts), so the map containers start hidden and appear only when this runs. */
(function () {
  "use strict";
  if (!window.L) return;

  function addTiles(map, el) {
    L.tileLayer(el.dataset.tileUrl, { maxZoom: 19, attribution: el.dataset.attribution || "" }).addTo(map);
  }

  function setUpPicker(el) {
    var form = el.closest("form");
    var lat = form && form.querySelector("[data-map-lat]");
    var lng = form && form.querySelector("[data-map-lng]");
    if (!lat || !lng) return;
    el.hidden = false;
    var status = el.querySelector("[data-map-status]");
    var centre = (el.dataset.center || "0,0").split(",").map(Number);
    var hasPoint = lat.value !== "" && lng.value !== "";
    var start = hasPoint ? [Number(lat.value), Number(lng.value)] : centre;
    var map = L.map(el.querySelector("[data-map]")).setView(start, hasPoint ? 16 : 13);
    addTiles(map, el);
    var marker = null;

    function mark(latlng, announce) {
      var point = L.latLng(latlng).wrap();
      lat.value = point.lat.toFixed(6);
      lng.value = point.lng.toFixed(6);
      if (marker) marker.setLatLng(point);
      else marker = L.marker(point, { keyboard: false }).addTo(map);
      if (announce) status.textContent = el.dataset.markedText;
    }

    if (hasPoint) mark(start, false);
    map.on("click", function (event) { mark(event.latlng, true); });
    el.querySelector("[data-map-centre]").addEventListener("click", function () { mark(map.getCenter(), true); });
    el.querySelector("[data-map-clear]").addEventListener("click", function () {
      lat.value = "";
      lng.value = "";
      if (marker) { map.removeLayer(marker); marker = null; }
      status.textContent = el.dataset.clearedText;
    });
  }

  function setUpView(el) {
    var point = [Number(el.dataset.lat), Number(el.dataset.lng)];
    if (isNaN(point[0]) || isNaN(point[1])) return;
    el.hidden = false;
    var map = L.map(el.querySelector("[data-map]"), { scrollWheelZoom: false }).setView(point, 16);
    addTiles(map, el);
    L.marker(point, { keyboard: false }).addTo(map);
  }

  document.querySelectorAll("[data-map-picker]").forEach(setUpPicker);
  document.querySelectorAll("[data-map-view]").forEach(setUpView);
})();
