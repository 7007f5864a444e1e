/* Search snippets are cut from the pages' HTML, where maths is still TeX
   source (MathJax renders it only on the page itself). Show it as plain text:
   common commands become Unicode, the rest of the markup is dropped. */
(function () {
  "use strict";
  const SYMBOLS = {
    alpha: "α", beta: "β", gamma: "γ", delta: "δ", epsilon: "ε", varepsilon: "ε",
    zeta: "ζ", eta: "η", theta: "θ", vartheta: "ϑ", iota: "ι", kappa: "κ",
    lambda: "λ", mu: "μ", nu: "ν", xi: "ξ", pi: "π", rho: "ρ", sigma: "σ",
    tau: "τ", phi: "φ", varphi: "φ", chi: "χ", psi: "ψ", omega: "ω",
    Gamma: "Γ", Delta: "Δ", Theta: "Θ", Lambda: "Λ", Xi: "Ξ", Pi: "Π",
    Sigma: "Σ", Phi: "Φ", Psi: "Ψ", Omega: "Ω", ell: "ℓ", infty: "∞",
    le: "≤", leq: "≤", ge: "≥", geq: "≥", neq: "≠", ne: "≠", approx: "≈",
    sim: "∼", to: "→", rightarrow: "→", leftarrow: "←", mapsto: "↦",
    times: "×", cdot: "·", sum: "∑", prod: "∏", int: "∫", partial: "∂",
    nabla: "∇", sqrt: "√", in: "∈", subset: "⊂", top: "ᵀ", pm: "±",
    langle: "⟨", rangle: "⟩", mid: "|", quad: " ", qquad: " ", log: "log",
    exp: "exp", min: "min", max: "max", sin: "sin", cos: "cos", tanh: "tanh",
  };
  function plainMath(text) {
    return text
      .replace(/\\[()[\]]/g, "")
      .replace(/\\([A-Za-z]+)/g, (m, name) => (name in SYMBOLS ? SYMBOLS[name] : ""))
      .replace(/\\[,;:! ]/g, " ")
      .replace(/[{}]/g, "")
      .replace(/\s+/g, " ");
  }
  window.mltheoryPlainMath = plainMath;
  document.addEventListener("DOMContentLoaded", function () {
    if (typeof Search === "undefined" || !Search.makeSearchSummary) return;
    const original = Search.makeSearchSummary;
    Search.makeSearchSummary = function (htmlText, keywords, anchor) {
      const summary = original.call(this, htmlText, keywords, anchor);
      if (summary && summary.textContent) {
        summary.textContent = plainMath(summary.textContent);
      }
      return summary;
    };
  });
})();
