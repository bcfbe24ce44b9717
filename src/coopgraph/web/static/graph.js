// The network picture: fetches /graph.json and draws a force-directed SVG layout.
// Nodes are authorities (blue), networks (orange) and actors (green); lines are partnerships
// (solid) and network memberships (dashed). Drag a node to move it; click one to recentre the
// picture on it; hover to read its name. Without JavaScript the page shows a fixed radial picture.
(function () {
  "use strict";
  var SVG_NS = "http://www.w3.org/2000/svg";
  var SIZE = 800;
  var holder = document.getElementById("graph");
  var svg = document.getElementById("graph-svg");
  if (!holder || !svg || !window.fetch) { return; }

  function element(name, attributes, parent) {
    var node = document.createElementNS(SVG_NS, name);
    Object.keys(attributes).forEach(function (key) { node.setAttribute(key, attributes[key]); });
    if (parent) { parent.appendChild(node); }
    return node;
  }

  function layout(data) {
    var nodes = data.nodes.map(function (n, i) {
      var angle = 2 * Math.PI * i / data.nodes.length;
      return { data: n, x: n.centre ? SIZE / 2 : SIZE / 2 + 250 * Math.cos(angle),
               y: n.centre ? SIZE / 2 : SIZE / 2 + 250 * Math.sin(angle), vx: 0, vy: 0, fixed: n.centre };
    });
    var byId = {};
    nodes.forEach(function (n) { byId[n.data.id] = n; });
    var links = data.links.filter(function (l) { return byId[l.source] && byId[l.target]; })
      .map(function (l) { return { data: l, a: byId[l.source], b: byId[l.target] }; });
    return { nodes: nodes, links: links };
  }

  // One step of a plain force simulation: repulsion between all nodes, springs along links,
  // a weak pull to the centre. Returns the total movement, to know when to stop.
  function step(graph, heat) {
    var nodes = graph.nodes, i, j, a, b, dx, dy, d2, d, force, moved = 0;
    for (i = 0; i < nodes.length; i++) {
      for (j = i + 1; j < nodes.length; j++) {
        a = nodes[i]; b = nodes[j];
        dx = b.x - a.x; dy = b.y - a.y; d2 = dx * dx + dy * dy + 0.01;
        force = 2600 / d2;
        d = Math.sqrt(d2);
        a.vx -= force * dx / d; a.vy -= force * dy / d;
        b.vx += force * dx / d; b.vy += force * dy / d;
      }
    }
    graph.links.forEach(function (link) {
      dx = link.b.x - link.a.x; dy = link.b.y - link.a.y;
      d = Math.sqrt(dx * dx + dy * dy) + 0.01;
      force = (d - (graph.nodes.length < 20 ? 150 : 90)) * 0.04;
      link.a.vx += force * dx / d; link.a.vy += force * dy / d;
      link.b.vx -= force * dx / d; link.b.vy -= force * dy / d;
    });
    nodes.forEach(function (n) {
      n.vx += (SIZE / 2 - n.x) * 0.004; n.vy += (SIZE / 2 - n.y) * 0.004;
      if (!n.fixed) {
        n.x = Math.max(20, Math.min(SIZE - 20, n.x + Math.max(-30, Math.min(30, n.vx * heat))));
        n.y = Math.max(20, Math.min(SIZE - 20, n.y + Math.max(-30, Math.min(30, n.vy * heat))));
        moved += Math.abs(n.vx) + Math.abs(n.vy);
      }
      n.vx *= 0.5; n.vy *= 0.5;
    });
    return moved;
  }

  function recentreUrl(node) {
    var kind = node.data.kind === "network" ? "network" : "authority";
    return "/graph?" + kind + "=" + encodeURIComponent(node.data.id) + "&lang=" + encodeURIComponent(holder.dataset.lang || "en");
  }

  function draw(data) {
    var graph = layout(data);
    while (svg.firstChild) { svg.removeChild(svg.firstChild); }
    var linkLayer = element("g", { "class": "links" }, svg);
    var nodeLayer = element("g", { "class": "nodes" }, svg);
    var showAll = graph.nodes.length < 40;
    graph.links.forEach(function (link) {
      link.line = element("line", { "class": "link " + link.data.relation }, linkLayer);
      element("title", {}, link.line).textContent = link.data.viaLabel;
    });
    graph.nodes.forEach(function (node) {
      var kind = node.data.kind === "network" || node.data.kind === "actor" ? node.data.kind : "authority";
      node.group = element("g", { "class": "node " + kind + (node.data.centre ? " centre" : "") }, nodeLayer);
      var circle = element("circle", { r: node.data.centre ? 12 : 7 }, node.group);
      element("title", {}, circle).textContent = node.data.label + (node.data.country ? " (" + node.data.country + ")" : "");
      node.label = element("text", { dy: -11 }, node.group);
      node.label.textContent = node.data.label;
      node.label.style.display = showAll || node.data.centre ? "" : "none";
      node.group.addEventListener("mouseenter", function () { node.label.style.display = ""; });
      node.group.addEventListener("mouseleave", function () {
        node.label.style.display = showAll || node.data.centre ? "" : "none";
      });
      dragging(node, graph);
    });
    function render() {
      graph.links.forEach(function (link) {
        link.line.setAttribute("x1", link.a.x); link.line.setAttribute("y1", link.a.y);
        link.line.setAttribute("x2", link.b.x); link.line.setAttribute("y2", link.b.y);
      });
      graph.nodes.forEach(function (node) {
        node.group.setAttribute("transform", "translate(" + node.x.toFixed(1) + "," + node.y.toFixed(1) + ")");
      });
    }
    graph.render = render;
    var heat = 1, rounds = 0;
    function animate() {
      var moved = step(graph, heat);
      heat = Math.max(0.05, heat * 0.985);
      rounds += 1;
      render();
      if (rounds < 400 && moved > 0.5) { window.requestAnimationFrame(animate); }
    }
    render();
    window.requestAnimationFrame(animate);
  }

  function point(event) {
    var box = svg.getBoundingClientRect();
    var scale = Math.max(SIZE / box.width, SIZE / box.height);
    return { x: (event.clientX - box.left - (box.width - SIZE / scale) / 2) * scale,
             y: (event.clientY - box.top - (box.height - SIZE / scale) / 2) * scale };
  }

  function dragging(node, graph) {
    var start = null;
    node.group.addEventListener("pointerdown", function (event) {
      start = { x: event.clientX, y: event.clientY, moved: false };
      node.group.setPointerCapture(event.pointerId);
      event.preventDefault();
    });
    node.group.addEventListener("pointermove", function (event) {
      if (!start) { return; }
      if (Math.abs(event.clientX - start.x) + Math.abs(event.clientY - start.y) > 4) { start.moved = true; }
      if (start.moved) {
        var p = point(event);
        node.x = p.x; node.y = p.y; node.fixed = true;
        graph.render();
      }
    });
    node.group.addEventListener("pointerup", function () {
      var clicked = start && !start.moved;
      start = null;
      if (clicked && !node.data.centre) { window.location.assign(recentreUrl(node)); }
    });
  }

  window.fetch(holder.dataset.json, { headers: { Accept: "application/json" } })
    .then(function (response) {
      if (!response.ok) { throw new Error("graph.json answered " + response.status); }
      return response.json();
    })
    .then(function (data) { draw(data); holder.classList.add("interactive"); })
    .catch(function (error) { holder.setAttribute("data-error", String(error)); });
}());
