/**
 * Accounts, invitations and roles of an organization in Body Worn Live (SPEC S10, S14).
 *
 * `usersSection(org, me)` is Settings > Users, drawn for admins only (the API refuses everyone
 * else anyway): the members with their role (User, Operator, Admin; the owner stays admin and
 * cannot be removed), a role changed from its list, a member removed (a second click confirms),
 * the invitations not accepted yet (withdrawn the same way), and "+ Invite user" by e-mail with a
 * role. `invitationsBlock(onAccepted)` lists the invitations of the signed-in account and accepts
 * one: an invited operator who is not a member yet sees it in place of the streams.
 */

import { api } from '../api.js';
import { field, h, message, onSubmit, put, showError } from '../dom.js';

export const ROLE_NAMES = { user: 'User', operator: 'Operator', admin: 'Admin' };
const CONFIRM_MS = 4000;

function roleSelect(name, selected, label) {
  return h('select', { name, 'aria-label': label }, Object.entries(ROLE_NAMES).map(([value, text]) =>
    h('option', { value, selected: value === selected }, text)));
}

/** A button that asks for a second click before it acts. */
function confirmButton(label, ariaLabel, action, out) {
  let armed = null;
  const button = h('button', { type: 'button', class: 'small', 'aria-label': ariaLabel, onclick: async () => {
    if (!armed) {
      button.textContent = 'Click again to confirm';
      armed = setTimeout(() => { armed = null; button.textContent = label; }, CONFIRM_MS);
      return;
    }
    clearTimeout(armed);
    armed = null;
    try { await action(); } catch (err) { showError(out, err); button.textContent = label; }
  } }, label);
  return button;
}

/** Settings > Users (admins): members, roles, invitations. */
export function usersSection(org, me) {
  const box = h('div', {}, 'Loading…');
  const out = h('div', { class: 'out', 'aria-live': 'polite' });
  const base = `/api/cloud/orgs/${org.id}`;

  async function render(note = null) {
    const [{ members, pending_invitations: pending }, detail] = await Promise.all([api(`${base}/members`), api(base)]);
    if (note) put(out, note);
    const rows = members.map((m) => {
      const owner = m.id === detail.owner_account_id;
      const select = roleSelect('role', m.role, `Role of ${m.email}`);
      select.disabled = owner;
      select.addEventListener('change', () => api(`${base}/members/${m.id}`, { method: 'PUT', body: { role: select.value } })
        .then(() => render(message('ok', `${m.name} (${m.email}) is now ${ROLE_NAMES[select.value]}.`, 'role_changed')))
        .catch((err) => { select.value = m.role; showError(out, err); }));
      return h('tr', { dataset: { account: m.id } }, h('td', {}, m.name), h('td', {}, m.email),
        h('td', {}, select, owner ? h('small', {}, ' owner') : null),
        h('td', {}, owner || m.id === me.id ? null : confirmButton('Remove', `Remove ${m.email}`, async () => {
          await api(`${base}/members/${m.id}`, { method: 'DELETE' });
          await render(message('ok', `${m.email} is no longer a member of ${org.name}.`, 'member_removed'));
        }, out)));
    });
    const invite = onSubmit(h('form', { class: 'row', 'aria-label': 'Invite user' },
      field('E-mail', h('input', { type: 'email', name: 'email', required: true, autocomplete: 'off' })),
      field('Role', roleSelect('role', 'operator', 'Role')),
      h('button', { type: 'submit', class: 'primary' }, '+ Invite user')), out, async (v) => {
      const inv = await api(`${base}/invitations`, { method: 'POST', body: { email: v.email, role: v.role } });
      await render(message('ok', `${inv.email} is invited as ${ROLE_NAMES[inv.role]}. They accept it when they sign in to `
        + 'Body Worn Live with their My Axis account; then share the link with key with them (S10).', 'invited'));
    });
    put(box,
      h('table', { class: 'members' }, h('thead', {}, h('tr', {}, ['Name', 'E-mail', 'Role', ''].map((t) => h('th', {}, t)))), h('tbody', {}, rows)),
      h('h3', {}, 'Invitations'),
      pending.length ? h('table', { class: 'invitations' }, h('thead', {}, h('tr', {}, ['E-mail', 'Role', ''].map((t) => h('th', {}, t)))),
        h('tbody', {}, pending.map((i) => h('tr', {}, h('td', {}, i.email), h('td', {}, ROLE_NAMES[i.role] || i.role),
          h('td', {}, confirmButton('Withdraw', `Withdraw the invitation of ${i.email}`, async () => {
            await api(`${base}/invitations/${i.id}`, { method: 'DELETE' });
            await render(message('ok', `The invitation of ${i.email} is withdrawn.`, 'invitation_withdrawn'));
          }, out)))))) : h('p', { class: 'hint' }, 'No invitation waiting.'),
      invite);
  }

  render().catch((err) => showError(box, err));
  return h('section', { class: 'card', 'aria-labelledby': 'h-users' }, h('h2', { id: 'h-users' }, 'Users'),
    h('p', { class: 'hint' }, 'User and Operator view and acknowledge live streams and view recordings; Admin also manages these '
      + 'settings, invites users and gives their roles (S14). Users of Body Worn Live are not the camera users of the Manager.'),
    box, out);
}

/** The invitations waiting for the signed-in account; `onAccepted(result)` after one is accepted. */
export function invitationsBlock(onAccepted) {
  const box = h('div', { class: 'my-invitations' });
  const out = h('div', { class: 'out', 'aria-live': 'polite' });
  api('/api/cloud/invitations').then(({ invitations }) => put(box, invitations.length
    ? h('ul', { class: 'list' }, invitations.map((i) => h('li', {}, h('span', {}, `${i.org_name} invites you as ${ROLE_NAMES[i.role] || i.role}. `),
      h('button', { type: 'button', class: 'primary', 'aria-label': `Accept the invitation of ${i.org_name}`, onclick: () =>
        api(`/api/cloud/invitations/${i.id}/accept`, { method: 'POST' }).then(onAccepted).catch((err) => showError(out, err)) }, 'Accept'))))
    : null)).catch((err) => showError(out, err));
  return h('div', {}, box, out);
}
