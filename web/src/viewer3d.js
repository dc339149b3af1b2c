// The 3D view of a scored molecule: 3Dmol.js (from npm, copied next to the
// page by trunk) is loaded on first use only, since most visits never open it.
let loading = null;

function load3Dmol() {
  if (window.$3Dmol) return Promise.resolve(window.$3Dmol);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const script = document.createElement('script');
      script.src = '3Dmol-min.js';
      script.onload = () => resolve(window.$3Dmol);
      script.onerror = () => {
        loading = null;
        reject(new Error('the 3D viewer (3Dmol-min.js) could not be loaded'));
      };
      document.head.appendChild(script);
    });
  }
  return loading;
}

// Draws the XYZ block in `element` as sticks and small spheres.
export async function show_xyz(element, xyz) {
  const $3Dmol = await load3Dmol();
  element.replaceChildren();
  const viewer = $3Dmol.createViewer(element, { backgroundColor: 'white' });
  viewer.addModel(xyz, 'xyz');
  viewer.setStyle({}, { stick: { radius: 0.14 }, sphere: { scale: 0.22 } });
  viewer.zoomTo();
  viewer.render();
  element.dataset.rendered = String(viewer.getModel().selectedAtoms({}).length);
}
