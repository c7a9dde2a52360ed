/* Traza manual redaction: draw, move and remove boxes over each page.
 * The textarea of each page stays the source of truth (one box per line, x0 y0 x1 y1 in
 * page pixels): the page works without this file, and the form posts what is shown here.
 * No inline script or style (CSP): positions are set through the CSSOM. */
(function () {
  "use strict";
  var MIN = 4;

  function parse(text) {
    var out = [];
    text.split("\n").forEach(function (line) {
      var m = line.trim().split(/[\s,]+/).map(Number);
      if (m.length === 4 && m.every(function (v) { return Number.isInteger(v) && v >= 0; })) {
        out.push(m);
      }
    });
    return out;
  }

  function Sheet(el) {
    this.el = el;
    this.img = el.querySelector("img");
    this.area = document.getElementById(el.dataset.for);
    this.w = Number(el.dataset.width);
    this.h = Number(el.dataset.height);
    this.boxes = parse(this.area.value);
    el.classList.add("live");
    this.bind();
    this.draw();
  }

  Sheet.prototype.scale = function () { return this.img.clientWidth / this.w || 1; };

  Sheet.prototype.save = function () {
    this.area.value = this.boxes.map(function (b) { return b.join(" "); }).join("\n");
  };

  Sheet.prototype.draw = function () {
    var s = this.scale(), self = this;
    Array.prototype.slice.call(this.el.querySelectorAll(".box")).forEach(function (d) {
      d.remove();
    });
    this.boxes.forEach(function (b, i) {
      var d = document.createElement("div");
      d.className = "box";
      d.dataset.i = String(i);
      d.tabIndex = 0;
      d.setAttribute("role", "button");
      d.setAttribute("aria-label", "x0 " + b[0] + ", y0 " + b[1] + ", x1 " + b[2] + ", y1 " + b[3]);
      d.style.left = b[0] * s + "px";
      d.style.top = b[1] * s + "px";
      d.style.width = (b[2] - b[0]) * s + "px";
      d.style.height = (b[3] - b[1]) * s + "px";
      self.el.appendChild(d);
    });
  };

  Sheet.prototype.point = function (ev) {
    var r = this.img.getBoundingClientRect(), s = this.scale();
    return [Math.max(0, Math.min(this.w, Math.round((ev.clientX - r.left) / s))),
            Math.max(0, Math.min(this.h, Math.round((ev.clientY - r.top) / s)))];
  };

  Sheet.prototype.bind = function () {
    var self = this, drag = null;
    this.el.addEventListener("pointerdown", function (ev) {
      var p = self.point(ev), t = ev.target;
      ev.preventDefault();
      if (t.classList.contains("box")) {
        drag = { move: Number(t.dataset.i), from: p, orig: self.boxes[Number(t.dataset.i)].slice() };
      } else {
        self.boxes.push([p[0], p[1], p[0] + 1, p[1] + 1]);
        drag = { make: self.boxes.length - 1, from: p };
      }
      self.el.setPointerCapture(ev.pointerId);
    });
    this.el.addEventListener("pointermove", function (ev) {
      if (!drag) { return; }
      var p = self.point(ev);
      if (drag.make !== undefined) {
        self.boxes[drag.make] = [Math.min(p[0], drag.from[0]), Math.min(p[1], drag.from[1]),
                                 Math.max(p[0], drag.from[0]), Math.max(p[1], drag.from[1])];
      } else {
        var o = drag.orig, dx = p[0] - drag.from[0], dy = p[1] - drag.from[1];
        drag.moved = drag.moved || dx !== 0 || dy !== 0;
        dx = Math.max(-o[0], Math.min(self.w - o[2], dx));
        dy = Math.max(-o[1], Math.min(self.h - o[3], dy));
        self.boxes[drag.move] = [o[0] + dx, o[1] + dy, o[2] + dx, o[3] + dy];
      }
      self.draw();
    });
    this.el.addEventListener("pointerup", function () {
      if (!drag) { return; }
      if (drag.make !== undefined) {
        var b = self.boxes[drag.make];
        if (b[2] - b[0] < MIN || b[3] - b[1] < MIN) { self.boxes.splice(drag.make, 1); }
      }
      var changed = drag.make !== undefined || drag.moved;
      drag = null;
      if (changed) {
        self.save();
        self.draw();
      }
    });
    // With pointer capture the clicks land on the sheet, not on the box: find it by position.
    this.el.addEventListener("dblclick", function (ev) {
      var p = self.point(ev);
      for (var i = self.boxes.length - 1; i >= 0; i--) {
        var b = self.boxes[i];
        if (p[0] >= b[0] && p[0] <= b[2] && p[1] >= b[1] && p[1] <= b[3]) {
          self.boxes.splice(i, 1);
          self.save();
          self.draw();
          return;
        }
      }
    });
    this.el.addEventListener("keydown", function (ev) {
      if ((ev.key === "Delete" || ev.key === "Backspace") && ev.target.classList.contains("box")) {
        ev.preventDefault();
        self.boxes.splice(Number(ev.target.dataset.i), 1);
        self.save();
        self.draw();
      }
    });
    this.area.addEventListener("input", function () {
      self.boxes = parse(self.area.value);
      self.draw();
    });
    this.img.addEventListener("load", function () { self.draw(); });
    window.addEventListener("resize", function () { self.draw(); });
  };

  document.querySelectorAll(".sheet").forEach(function (el) { new Sheet(el); });
}());
